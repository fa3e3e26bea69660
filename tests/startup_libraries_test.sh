#!/usr/bin/env bash
# cdcpipe opens libpq, librdkafka, libcurl, libcrypto and libmicrohttpd on first use (src/base/dynlib.h),
# so that a process that needs none of them (`cdcpipe batch` on local files, --help, --version) does not pay
# for loading them and the ~30 libraries they pull in. Fails when a change links one back in, or
# when a command that needs none of them loads one anyway.
#
#   tests/startup_libraries_test.sh PATH/TO/cdcpipe
set -euo pipefail
bin=${1:?usage: startup_libraries_test.sh PATH/TO/cdcpipe}
lazy='libpq\.so|librdkafka\.so|libcurl\.so|libcrypto\.so|libmicrohttpd\.so'
lazy_loaded=$lazy
# What only those bring in (Kerberos, LDAP, GnuTLS, SASL, ssh, rtmp).
pulled='libgssapi_krb5|libldap|libgnutls|libsasl2|libssh2|librtmp|libnghttp2'
# Gone for good: cpp-httplib (replaced by libmicrohttpd, opened on first use) and what it linked (OpenSSL,
# zlib, brotli) cost every process ~9 ms of start-up.
gone='libcpp-httplib|libssl\.so|libbrotli|libz\.so'
fail=0

needed=$(readelf -d "$bin" | grep NEEDED || true)
if grep -E "$lazy" <<<"$needed"; then
  echo "FAIL: $bin has a NEEDED entry for a library it must open on first use (above); link its" >&2
  echo "      headers only (cdc_*_headers in cmake/Dependencies.cmake) and call it through its table" >&2
  fail=1
fi
loaded=$(ldd "$bin")
if grep -E "$lazy_loaded|$pulled|$gone" <<<"$loaded"; then
  echo "FAIL: the dynamic loader maps the libraries above at start-up of $bin" >&2
  fail=1
fi

# At run time: nothing opens them for commands that do not need them (LD_DEBUG=files lists every
# library the process maps, at start-up or by dlopen).
tmp=$(mktemp -d /tmp/cdcpipe-startup-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/out/raw-kafka-data"
for args in "--version" "--help" "batch --output $tmp/out"; do
  # batch on an empty output may succeed or fail; either way it must not have loaded a library above.
  LD_DEBUG=files "$bin" $args >"$tmp/stdout" 2>"$tmp/ld.log" || true
  if grep -E "file=($lazy_loaded|$gone)" "$tmp/ld.log"; then
    echo "FAIL: \`cdcpipe $args\` loaded the libraries above" >&2
    fail=1
  fi
done

# The mechanism itself works: a check that needs a library opens it with dlopen (and then fails:
# nothing listens at these addresses).
check_opens() {  # SONAME COMPONENT STATUS-ARGS...
  local soname=$1 component=$2
  shift 2
  LD_DEBUG=files "$bin" status --component "$component" "$@" >"$tmp/stdout" 2>"$tmp/ld.log" || true
  if ! grep -Eq "file=${soname//./\\.} .*dynamically loaded" "$tmp/ld.log"; then
    echo "FAIL: \`cdcpipe status --component $component\` did not open $soname with dlopen" >&2
    cat "$tmp/stdout" >&2
    fail=1
  fi
}
check_opens libpq.so.5 postgres --db "host=$tmp dbname=none connect_timeout=1"
check_opens librdkafka.so.1 kafka --brokers 127.0.0.1:9
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test-secret \
  check_opens libcurl.so.4 storage --output s3://bucket --s3-endpoint http://127.0.0.1:9
# libmicrohttpd is opened by `run` only after it has reached PostgreSQL; src/http/http_server_test
# starts the server through the same table (http/mhd_api.h) in every build.

# Without the libraries (hidden in a private mount namespace, where the machine allows one): batch
# on local files still works, and a command that needs one says which library is missing.
hide=""
for lib in libpq.so.5 librdkafka.so.1 libcurl.so.4; do
  path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ && !found {print $NF; found = 1}')
  [[ -n "$path" ]] && hide+="mount --bind /dev/null $(readlink -f "$path") && "
done
if [[ -n "$hide" ]] && unshare -m true 2>/dev/null; then
  out=$(mktemp -d /tmp/cdcpipe-startup-test-out-XXXXXX)
  if ! unshare -m bash -c "$hide \"\$0\" batch --output $out" "$bin" >"$tmp/stdout" 2>&1; then
    echo "FAIL: \`cdcpipe batch\` on local files failed without libpq, librdkafka and libcurl:" >&2
    cat "$tmp/stdout" >&2
    fail=1
  fi
  unshare -m bash -c "$hide \"\$0\" status --component kafka --brokers 127.0.0.1:9" "$bin" >"$tmp/stdout" 2>&1 || true
  if ! grep -q "cannot load librdkafka.so.1, needed for Kafka" "$tmp/stdout"; then
    echo "FAIL: without librdkafka, \`cdcpipe status --brokers\` does not say it cannot load it:" >&2
    cat "$tmp/stdout" >&2
    fail=1
  fi
  rm -rf "$out"
else
  echo "skipped: the run without the libraries (no private mount namespace here)"
fi

if ((fail)); then exit 1; fi
echo "cdcpipe opens libpq, librdkafka, libcurl, libcrypto and libmicrohttpd only when a command needs them, and never loads cpp-httplib, libssl, zlib or brotli at start-up"
