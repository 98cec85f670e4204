#!/bin/sh
# Writes prometheus.yml from the environment, then runs Prometheus. The scrape targets are
# host:port lists because compose.yaml's ports are variables (a test picks free ones):
#   RS_REGION_TARGETS   region members' metrics addresses, a,b,c   (job regionstore)
#   RS_EDGE_TARGETS     edges' metrics addresses                   (job regionstore-edge)
#   PROMETHEUS_LISTEN   host:port of Prometheus's own web/API       (default 127.0.0.1:9090)
#   SCRAPE_INTERVAL, EVALUATION_INTERVAL                            (default 15s each)
# Rules: /etc/prometheus/rules.yaml and /etc/prometheus/rules.d/*.yaml. The job names are the ones
# docker/prometheus/rules.yaml and deploy/k8s assume.
set -eu
conf=/tmp/prometheus.yml

# a,b → "a", "b"
quoted() { printf '%s' "$1" | tr ',' '\n' | sed '/^$/d; s/.*/"&"/' | paste -sd, -; }

cat > "$conf" <<EOF
global:
  scrape_interval: ${SCRAPE_INTERVAL:-15s}
  evaluation_interval: ${EVALUATION_INTERVAL:-15s}
rule_files:
  - /etc/prometheus/rules.yaml
  - /etc/prometheus/rules.d/*.yaml
scrape_configs:
  - job_name: regionstore
    static_configs:
      - targets: [$(quoted "${RS_REGION_TARGETS:-}")]
  - job_name: regionstore-edge
    static_configs:
      - targets: [$(quoted "${RS_EDGE_TARGETS:-}")]
  - job_name: prometheus
    static_configs:
      - targets: ["${PROMETHEUS_LISTEN:-127.0.0.1:9090}"]
EOF
promtool check config "$conf"
exec prometheus --config.file="$conf" --storage.tsdb.path=/prometheus \
  --web.listen-address="${PROMETHEUS_LISTEN:-127.0.0.1:9090}" "$@"
