// Package docker is fleetctl's adapter to the Docker Engine, and the only
// package that imports the Docker SDK.
//
// It owns three things:
//   - Observe: one snapshot of the host (containers, volumes, images) in three
//     API calls, as an observe.State for the planner;
//   - the Engine methods apply calls, one API call each, idempotent where the
//     engine allows it (they satisfy apply.Engine structurally);
//   - Lock: fleet-wide mutual exclusion kept in the engine itself (a container
//     that is created but never started), so it holds across machines that
//     share a remote Docker host (it satisfies apply.Locker).
//
// The SDK is recent (v28) but the engines we run on are older (Debian's
// docker.io 20.10, API 1.41): the client always negotiates the API version and
// uses only calls and fields that 1.41 knows.
//
// Errors of the calls that send a container's environment (create, start)
// and the log lines it returns are masked with the context's masker
// (pkg/redact) before they leave: the engine and runc echo env pairs.
//
// It must not import pkg/apply, pkg/plan or any other adapter; it speaks the
// shared vocabularies pkg/observe and pkg/resource only (and pkg/redact).
package docker
