package interop

import (
	"bytes"
	"os/exec"
	"strconv"
	"testing"

	"github.com/gomptcp/mptcp/interop/payload"
)

// TestPayloadMatchesLinuxpeer: package payload produces the very bytes of
// linuxpeer's --send-bytes (its gen command), so the two sides check each
// other with the same stream.
func TestPayloadMatchesLinuxpeer(t *testing.T) {
	bin := linuxpeer(t)
	for _, seed := range []string{"0", "1", "18446744073709551615"} {
		out, err := exec.Command(bin, "gen", "--bytes", "100003", "--seed", seed).Output()
		if err != nil {
			t.Fatalf("linuxpeer gen: %v", err)
		}
		s, err := strconv.ParseUint(seed, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 100003)
		payload.New(s).Read(want)
		if !bytes.Equal(out, want) {
			t.Errorf("seed %s: linuxpeer gen gives other bytes", seed)
		}
	}
}
