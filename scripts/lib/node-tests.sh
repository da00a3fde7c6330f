# Sourced by scripts/test-js.sh. run_node_tests ARGS...: runs `node --test ARGS` in js/
# (TAP output); globs in ARGS (quoted by the caller) are expanded inside js/. A test file that Node itself crashed in (a V8 fatal error such as
# "Fatal error in , line 0 / unreachable code", seen once in Node 20.20's
# deoptimizer during the fault soak: https://github.com/nodejs/node/issues/51555)
# is run once more, and said so; any other failure fails at once, and a file
# that crashes twice fails.
run_node_tests() {
    local log status=0
    log=$(mktemp)
    # shellcheck disable=SC2048,SC2086
    (cd js && node --test --test-reporter=tap $*) 2>&1 | tee "$log" || status=$?
    if [ "$status" -eq 0 ]; then
        rm -f "$log"
        return 0
    fi
    local crashed
    crashed=$(python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
# Top-level results only (no indentation): one per test file.
failed = re.findall(r"^not ok \d+ - (\S+)\n((?:  .*\n)*)", text, re.M)
v8_fatal = "Fatal error in" in text and "V8_Fatal" in text
crashed = [f for f, block in failed if re.search(r"signal: '(SIGTRAP|SIGABRT|SIGILL|SIGSEGV)'", block)]
# Rerun only when every failed file was a crash and V8 said it was its own.
print(" ".join(crashed) if failed and v8_fatal and len(crashed) == len(failed) else "")
PY
)
    rm -f "$log"
    if [ -z "$crashed" ]; then
        return "$status"
    fi
    echo "test-js: Node crashed (a V8 fatal error, not a test failure) in: $crashed; running those files once more"
    # shellcheck disable=SC2086
    (cd js && node --test --test-reporter=tap $crashed)
}
