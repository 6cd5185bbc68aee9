// Package netnstest runs a test inside private Linux namespaces. Peers such as DCMTK's SCPs and
// Orthanc cannot be told to listen on loopback only; inside a private network namespace, where
// only loopback exists, they can run without being reachable from anywhere else.
package netnstest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Env marks a test process that runs inside its namespaces.
const Env = "LIGHTBOX_IN_NETNS"

// Options configure Isolate. The zero value isolates the network for 90 s.
type Options struct {
	// Flags are unshare's namespace flags (default "-n"; add "-m" for a private mount namespace,
	// so that what the test mounts vanishes with it).
	Flags []string
	// Timeout bounds the child test run (default 90 s).
	Timeout time.Duration
	// Env is added to the child's environment (NAME=value).
	Env []string
}

// Isolate runs the calling top-level test inside private namespaces. Outside them, it
// re-executes the test binary under unshare for this test alone, reports the child's outcome and
// returns false: the caller returns at once. Inside them, it brings loopback up and returns true.
// It skips when namespaces are not available (they need root).
func Isolate(t *testing.T, opts Options) bool {
	t.Helper()
	if os.Getenv(Env) != "" {
		if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
			t.Fatalf("bring loopback up: %v: %s", err, out)
		}
		return true
	}
	flags := opts.Flags
	if len(flags) == 0 {
		flags = []string{"-n"}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 90 * time.Second
	}
	if os.Geteuid() != 0 {
		t.Skip("peers that cannot listen on loopback only run in a private network namespace, which needs root: skipping")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare not installed: skipping")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed: skipping")
	}
	if out, err := exec.Command(unshare, append(flags, "--", "true")...).CombinedOutput(); err != nil {
		t.Skipf("unshare %v unavailable (%v: %s): skipping", flags, err, strings.TrimSpace(string(out)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := append(append([]string{}, flags...), "--", "env", Env+"=1")
	args = append(args, opts.Env...)
	args = append(args, os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout", timeout.String())
	cmd := exec.CommandContext(ctx, unshare, args...)
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("in private namespaces (unshare %v):\n%s", flags, out)
	switch {
	case err != nil:
		t.Fatalf("%s in its namespaces: %v", t.Name(), err)
	case bytes.Contains(out, []byte("--- SKIP: "+t.Name()+" ")):
		t.Skip("skipped in its namespaces")
	case !bytes.Contains(out, []byte("--- PASS: "+t.Name()+" ")):
		t.Fatalf("%s did not run in its namespaces", t.Name())
	}
	return false
}
