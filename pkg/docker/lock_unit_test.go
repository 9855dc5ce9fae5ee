package docker

import (
	"os"
	"testing"
)

// Liveness reads /proc only: no engine needed.
func TestLivenessOnlyJudgesThisHost(t *testing.T) {
	host, _ := os.Hostname()
	me, here := os.Getpid(), MachineID()
	if here == "" {
		t.Fatal("machineID: /proc gave no boot id or pid namespace")
	}
	for _, tc := range []struct {
		name string
		info LockInfo
		want Liveness
	}{
		{"our own live process", LockInfo{Hostname: host, PID: me, pidStart: procStart(me), machine: here}, HolderAlive},
		{"a live pid started at another time (recycled)", LockInfo{Hostname: host, PID: me, pidStart: "1", machine: here}, HolderGone},
		{"a live pid without a recorded start time", LockInfo{Hostname: host, PID: me, machine: here}, HolderUnknown},
		{"a pid that cannot exist", LockInfo{Hostname: host, PID: 1 << 30, machine: here}, HolderGone},
		{"a holder on another host", LockInfo{Hostname: "elsewhere.example", PID: 1 << 30, machine: here}, HolderUnknown},
		// Same hostname, other PID namespace (a container with the host's
		// name): its pid means nothing here.
		{"a holder in another pid namespace", LockInfo{Hostname: host, PID: 1 << 30, machine: here + "-other-ns"}, HolderUnknown},
		{"a holder without a machine id", LockInfo{Hostname: host, PID: 1 << 30}, HolderUnknown},
		{"a holder without a pid", LockInfo{Hostname: host, machine: here}, HolderUnknown},
	} {
		if got := tc.info.Liveness(); got != tc.want {
			t.Errorf("%s: Liveness = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidFleetName(t *testing.T) {
	for name, want := range map[string]bool{
		"acme": true, "A1": true, "a.b_c-d": true, "x": true,
		"": false, "-a": false, ".a": false, "a b": false, "a/b": false, "é": false,
		string(make([]byte, 129)): false,
	} {
		if got := validFleetName(name); got != want {
			t.Errorf("validFleetName(%q) = %v, want %v", name, got, want)
		}
	}
	long := make([]byte, 128)
	for i := range long {
		long[i] = 'a'
	}
	if !validFleetName(string(long)) || validFleetName(string(long)+"a") {
		t.Error("128 characters is the limit")
	}
}
