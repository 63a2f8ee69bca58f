package scenario_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gomptcp/mptcp/scenario"
)

// FuzzTransfer fuzzes the whole data path — stack, TCP engine, simulator —
// with random impairments and TCP configurations drawn from the fuzzer's
// inputs: every transfer must complete and deliver exactly what was sent.
func FuzzTransfer(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 17, 99, 1234} {
		f.Add(seed, uint32(seed*7919))
	}
	f.Fuzz(func(t *testing.T, seed uint64, size uint32) {
		rng := rand.New(rand.NewPCG(seed, uint64(size)))
		s := scenario.Direct(randomImpairment(rng), randomImpairment(rng))
		s.Seed = seed
		s.Limit = time.Hour
		bytes := 1 + int64(size%(256<<10))
		s.Flows = []scenario.Flow{{Name: "f", From: "client", To: "server", Bytes: bytes, Config: randomTCP(rng)}}
		r, err := scenario.Run(&s)
		if err != nil {
			t.Fatal(err)
		}
		if fl := r.Flows[0]; !fl.Exact() || fl.Err != nil {
			t.Fatalf("%d bytes: received %d, done %v, mismatch at %d, error %v\nlinks: %+v / %+v\ntcp: %+v\n%s",
				bytes, fl.Received, fl.Done, fl.Mismatch, fl.Err, s.Links[0].AB, s.Links[0].BA, s.Flows[0].Config, r)
		}
	})
}
