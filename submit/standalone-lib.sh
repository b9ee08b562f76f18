# Sourced by submit/test-standalone and submit/test-executor-loss: a real Spark standalone cluster on 127.0.0.1
# from Spark's Maven jars (one Master, any number of Workers), stopped by PID when the calling script exits.
# The caller sets `root` (the repository) before sourcing; it gets `work`, `jar`, `master_url`, `worker_ports`.

classpath_file="$("$root/submit/spark-classpath")"
jar="${WHETSTONE_JAR:-$(ls "$root"/jobs/target/whetstone-jobs-*-all.jar 2>/dev/null | head -n 1 || true)}"
if [[ -z "$jar" ]]; then
  (cd "$root" && mvn -q -B -DskipTests package)
fi

work="$(mktemp -d)"
pids=()
worker_ports=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  # executors whose Worker was stopped first may outlive it for a moment
  pkill -f "CoarseGrainedExecutorBackend.*$work" 2>/dev/null || true
  if [[ -n "${WHETSTONE_KEEP_WORK:-}" ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# SPARK_HOME with jars/ as links to the Maven jars: the Worker starts executors from $SPARK_HOME/jars.
export SPARK_HOME="$work/spark"
mkdir -p "$SPARK_HOME/jars" "$SPARK_HOME/conf"
tr ':' '\n' < "$classpath_file" | while read -r jar_path; do
  [[ -n "$jar_path" ]] && ln -sf "$jar_path" "$SPARK_HOME/jars/"
done
export SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 SPARK_LOG_DIR="$work/logs"

opens="-XX:+IgnoreUnrecognizedVMOptions"
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
         java.util.concurrent.atomic jdk.internal.ref sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
  opens="$opens --add-opens=java.base/$p=ALL-UNNAMED"
done

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' \
    2>/dev/null || echo $((20000 + RANDOM % 20000))
}

# Waits up to a minute for $2 to appear in file $1; prints the file and fails with $3 otherwise.
await_log() {
  for _ in $(seq 1 120); do
    grep -q "$2" "$1" && return 0
    sleep 0.5
  done
  cat "$1"
  echo "$3" >&2
  exit 1
}

start_master() {
  local port
  port="$(free_port)"
  : > "$work/master.log"
  # shellcheck disable=SC2086
  java $opens -Xmx512m -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.master.Master \
    --host 127.0.0.1 --port "$port" --webui-port "$(free_port)" > "$work/master.log" 2>&1 &
  pids+=($!)
  await_log "$work/master.log" "I have been elected leader" "master did not start"
  master_url="spark://127.0.0.1:$port"
}

# start_worker NAME CORES MEMORY [PROPERTIES]: a Worker with its own work directory $work/NAME and log $work/NAME.log,
# and optionally a Spark properties file (e.g. the GPUs it offers).
start_worker() {
  local port properties=()
  port="$(free_port)"
  mkdir -p "$work/$1"
  : > "$work/$1.log"
  [[ -n "${4:-}" ]] && properties=(--properties-file "$4")
  # shellcheck disable=SC2086
  java $opens -Xmx512m -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.worker.Worker "$master_url" \
    --host 127.0.0.1 --port "$port" --cores "$2" --memory "$3" --webui-port "$(free_port)" \
    --work-dir "$work/$1" "${properties[@]}" > "$work/$1.log" 2>&1 &
  pids+=($!)
  worker_ports+=("$port")
  await_log "$work/$1.log" "Successfully registered with master" "worker $1 did not register"
}
