"""`topup cluster up|down|status`: Topup on several hosts, played by Linux network namespaces on this machine.

Three database hosts (etcd + Patroni + PostgreSQL 15), a load balancer (HAProxy, PgBouncer), web and worker
nodes and a host for the simulators, on a bridge `tpc0` (10.77.0.0/24). The configuration files are the
templates of `deploy/cluster/`, the ones an operator fills in on real machines (addresses: `layout`).
"""
