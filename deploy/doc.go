// Package deploy holds how SREs run praxis-adapter: the Dockerfile, the
// Kubernetes manifests (k8s/), the Helm values for NATS and Redis (helm/), a
// local compose stack (compose/), the Grafana dashboard (grafana/) and the
// documented example configuration (config.example.yaml).
//
// It has no Go API. Its test parses every YAML and JSON file here and checks
// what must agree with the code (ports, probe paths, environment variable
// names, stream and consumer names, metric names, subcommands), so the
// deployment files cannot drift from the binary they deploy.
package deploy
