#!/usr/bin/env bash
# Reserve+settle pairs per second through a Redis pool from Rust, Python and
# Node, one client and CONCURRENCY clients, against redis-benchmark running a
# trivial EVALSHA (`return 1`) on the same server in the same run. Starts its
# own redis-server (no persistence) on a free port. Prints the versions, the
# load (uptime) before and after, each figure, and each ratio (pairs/s over
# the raw EVALSHA calls/s at the same number of clients; a pair is two script
# calls). Needs what the language suites build (.venv, js/wasm with ioredis).
#
#   bash benches/redis/run.sh [PAIRS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs=${1:-5000}
concurrency=${2:-16}

cargo build --release -q -p creditpool --example redis_bench
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --protected-mode no --dir "$dir" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
url="redis://127.0.0.1:$port/0"

echo "== versions"
redis-server --version
echo "rustc $(rustc --version | cut -d' ' -f2), node $(node --version), $(.venv/bin/python --version), redis-py $(.venv/bin/python -c 'import redis; print(redis.__version__)'), ioredis $(node -p 'require("./js/node_modules/ioredis/package.json").version')"
echo "== load before: $(uptime)"

sha=$(redis-cli -p "$port" SCRIPT LOAD 'return 1')
raw() { redis-benchmark -p "$port" -c "$1" -n "$2" -q --csv EVALSHA "$sha" 0 | tail -1 | cut -d, -f2 | tr -d '"'; }
raw1=$(raw 1 50000)
rawc=$(raw "$concurrency" 200000)
echo "redis-benchmark EVALSHA (return 1): 1 client $raw1 calls/s; $concurrency clients $rawc calls/s"

results=$(mktemp)
target/release/examples/redis_bench "$url" "$pairs" "$concurrency" | tee -a "$results"
.venv/bin/python benches/redis/bench.py "$url" "$pairs" "$concurrency" | tee -a "$results"
node benches/redis/bench.mjs "$url" "$pairs" "$concurrency" | tee -a "$results"
echo "== load after: $(uptime)"
# The server's own time per script call (INFO commandstats: usec_per_call):
# Redis runs scripts one at a time, so 1e6 / usec_per_call bounds the calls/s
# any number of clients can get.
echo "== server time per call (INFO commandstats)"
redis-cli -p "$port" INFO commandstats | grep -E '^cmdstat_(fcall|evalsha|eval):' | tr -d '\r'

echo "== pairs/s against the raw EVALSHA rate at the same number of clients"
python3 - "$results" "$raw1" "$rawc" <<'PY'
import json, sys
raw1, rawc = float(sys.argv[2]), float(sys.argv[3])
for line in open(sys.argv[1]):
    r = json.loads(line)
    raw = raw1 if r["clients"] == 1 else rawc
    print(f'{r["lang"]:>15} {r["clients"]:>3} clients: {r["pairs_per_s"]:>8} pairs/s ({2 * r["pairs_per_s"]:>8} script calls/s) = {100 * r["pairs_per_s"] / raw:5.1f} % of {raw:.0f} EVALSHA/s')
PY
rm -f "$results"
