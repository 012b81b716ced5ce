// An SMSC written with the npm `smpp` package (an implementation independent of ours), for a conformance run
// against the platform's ESME: `node tests/conformance/smsc_npm_peer.mjs <port> <system_id> <password>`.
//
// Scenario, one JSON object a line on stdout for each event the test checks afterwards:
//   1. the ESME binds as transceiver;
//   2. a phone writes SALDO from 0470123456 with TON 0 (unknown), then TOPUP from 470123456 with TON 2
//      (national); each reply the ESME submits is logged with its destination, TON and NPI;
//   3. the SMSC sends unbind and logs the ESME's unbind_resp, then closes the connection;
//   4. the ESME binds again (logged), and the run ends with exit status 0.
// Anything missing after 30 seconds ends the run with exit status 1.
import smpp from 'smpp';

const [port, systemId, password] = process.argv.slice(2);
const log = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const timer = setTimeout(() => {
  log({ event: 'timeout' });
  process.exit(1);
}, 30_000);

const PHONES = [
  { source_addr: '0470123456', source_addr_ton: 0, text: 'SALDO' },
  { source_addr: '470123456', source_addr_ton: 2, text: 'TOPUP' },
];
let binds = 0;

function text(pdu) {
  const message = pdu.short_message && pdu.short_message.message !== undefined
    ? pdu.short_message.message : pdu.short_message;
  return Buffer.isBuffer(message) ? message.toString('latin1') : String(message ?? '');
}

const server = smpp.createServer({}, (session) => {
  let replies = 0;
  session.on('error', (error) => log({ event: 'session_error', message: String(error) }));
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('bind_transceiver', (pdu) => {
    const ok = pdu.system_id === systemId && pdu.password === password;
    session.send(pdu.response({ command_status: ok ? smpp.ESME_ROK : smpp.ESME_RBINDFAIL }));
    binds += 1;
    log({ event: 'bind_transceiver', ok, binds });
    if (!ok) return;
    if (binds === 1) {
      session.deliver_sm({ ...PHONES[0], source_addr_npi: 1, destination_addr: '1919', dest_addr_ton: 3,
        dest_addr_npi: 1, short_message: PHONES[0].text });
    } else {
      clearTimeout(timer);
      log({ event: 'done' });
      session.close(() => server.close(() => process.exit(0)));
    }
  });
  session.on('deliver_sm_resp', (pdu) => log({ event: 'deliver_sm_resp', status: pdu.command_status }));
  session.on('submit_sm', (pdu) => {
    session.send(pdu.response({ message_id: `npm-${binds}-${replies}` }));
    log({
      event: 'submit_sm',
      destination_addr: pdu.destination_addr,
      dest_addr_ton: pdu.dest_addr_ton,
      dest_addr_npi: pdu.dest_addr_npi,
      text: text(pdu),
    });
    replies += 1;
    if (replies < PHONES.length) {
      const phone = PHONES[replies];
      session.deliver_sm({ ...phone, source_addr_npi: 1, destination_addr: '1919', dest_addr_ton: 3,
        dest_addr_npi: 1, short_message: phone.text });
    } else {
      session.unbind((resp) => {
        log({ event: 'unbind_resp', status: resp.command_status, command: resp.command });
        session.close();
      });
    }
  });
});

server.listen(Number(port), '127.0.0.1', () => log({ event: 'listening', port: Number(port) }));
