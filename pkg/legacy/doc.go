// Package legacy turns the containers the old scripts made
// (start-template.sh NAME PORT DOMAIN: container openwebui-NAME, host port →
// 8080, volume openwebui-NAME-data at /app/backend/data, Open WebUI's env)
// into a fleet.yaml that reproduces each of them and that fleetctl plan
// --adopt replaces in place, one adopt per client. Secret values never go
// into the YAML: they become ${env:…} references, listed for the operator,
// and the secret key each container generated becomes a ${file:…} key file.
//
// It is pure (inspected containers in, file contents out): the Docker
// adapter inspects and copies, cmd/fleetctl writes the files. It imports
// only the spec and the observed-state vocabulary.
package legacy
