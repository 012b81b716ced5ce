#!/bin/sh
# Which Python and venv `make` uses: prints "<interpreter> <X.Y> <venv>", or says why none and exits 1.
# Usage: tools/python.sh [PYTHON]
#   PYTHON  the interpreter asked for (`make PYTHON=python3.13`); empty: python3.11, else the newest supported one.
# The venv is .venv for python3.11 or the fallback, .venv-X.Y for another version asked for; one made with another
# Python than the one picked is refused (a venv never changes its Python).
# Supported: Python 3.11 to 3.13 (pyproject requires-python ">=3.11,<3.14"). A `pythonX.Y` that is not on PATH, or
# only as a pyenv shim of a version pyenv does not enable here, is also looked for among pyenv's installed versions.
set -u
SUPPORTED="3.13 3.12 3.11"  # newest first: the order of the fallback
RANGE="Python 3.11 to 3.13"
asked=${1:-}

version_of() {  # X.Y of an interpreter that runs, else nothing
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null
}

find_python() {  # sets python and version for a name (python3.13) or a path that runs; else leaves python empty
  python=
  version=$(version_of "$1")
  if [ -n "$version" ]; then
    python=$(command -v "$1" 2>/dev/null || echo "$1")
    return
  fi
  minor=$(echo "$1" | sed -n 's/^python\([0-9][0-9]*\.[0-9][0-9]*\)$/\1/p')
  root=${PYENV_ROOT:-$HOME/.pyenv}
  [ -n "$minor" ] && [ -d "$root/versions" ] || return 0
  for candidate in $(ls -d "$root/versions/$minor".* 2>/dev/null | sort -t. -k3 -n -r); do
    version=$(version_of "$candidate/bin/python$minor")
    if [ -n "$version" ]; then
      python=$candidate/bin/python$minor
      return
    fi
  done
}

if [ -n "$asked" ]; then
  find_python "$asked"
  if [ -z "$python" ]; then
    echo "!! PYTHON=$asked: no such Python here. Topup supports $RANGE (python3.11, python3.12 or python3.13)." >&2
    exit 1
  fi
else
  find_python python3.11
  if [ -z "$python" ]; then
    for minor in $SUPPORTED; do
      find_python "python$minor"
      [ -n "$python" ] && break
    done
    if [ -z "$python" ]; then
      echo "!! No python3.11, python3.12 or python3.13 found: Topup needs $RANGE. Install one, or set PYTHON." >&2
      exit 1
    fi
    echo "-- python3.11 not found: using $python ($version), the newest supported Python here." >&2
  fi
fi

case " $SUPPORTED " in
  *" $version "*) ;;
  *)
    echo "!! $python is Python $version: Topup supports $RANGE (pyproject requires-python >=3.11,<3.14)." >&2
    echo "!! Set PYTHON=python3.11, python3.12 or python3.13." >&2
    exit 1
    ;;
esac

venv=.venv
[ -n "$asked" ] && [ "$version" != 3.11 ] && venv=.venv-$version
if [ -x "$venv/bin/python" ]; then
  made_with=$(version_of "$venv/bin/python")
  if [ "$made_with" != "$version" ]; then
    echo "!! $venv was made with Python ${made_with:-(broken)}, this run asks for $version:" >&2
    echo "!! remove it (rm -rf $venv) and make will make it again with Python $version." >&2
    exit 1
  fi
fi
echo "$python $version $venv"
