package bench

import (
	"errors"
	"fmt"
	"time"

	"github.com/gomptcp/mptcp/link/impair"
	"github.com/gomptcp/mptcp/scenario"
)

// RunSimSpeed measures how much faster than real time the simulator runs
// an MPTCP transfer over two 100 Mbit/s paths with a 20 ms RTT and queues
// of one BDP, with the scenario's checking receiver: once with every
// segment a packet of its own through the simulated links, once with
// segmentation offload modelled (scenario.Scenario.Offload: bursts cross
// the links as super-packets). After 2 s of virtual warm-up it runs
// virtual seconds and reports sim-s/wall-s and sim-s/cpu-s (the latter is
// not distorted by other load on the machine), and the goodput in virtual
// time.
func RunSimSpeed(o Options, virtual time.Duration) ([]Sample, error) {
	if o.Runs < 1 || virtual <= 0 {
		return nil, errors.New("bench: at least one run and some virtual time")
	}
	var out []Sample
	for run := range o.Runs {
		for _, offload := range []bool{false, true} {
			c := "2×100Mbit/s 20ms, per packet"
			if offload {
				c = "2×100Mbit/s 20ms, offload"
			}
			s := Sample{Bench: "sim", Case: c, Subject: "mptcp", Run: run, Metrics: map[string]float64{}}
			if err := simSample(&s, virtual, o.seed(run), offload); err != nil {
				s.Err = err.Error()
			}
			o.logf("sim run %d (%s): %.1f× real time %s", run, c, s.Metrics["sim_per_wall"], s.Err)
			out = append(out, s)
		}
	}
	return out, nil
}

func simSample(s *Sample, virtual time.Duration, seed uint64, offload bool) error {
	const rate = 100_000_000
	rtt := 20 * time.Millisecond
	c := impair.Config{Rate: rate, Delay: rtt / 2, QueuePackets: int(rate / 8 * rtt.Seconds() / 1500)}
	sc := scenario.Parallel([2]impair.Config{c, c}, [2]impair.Config{c, c})
	sc.Name, sc.Seed, sc.Offload = "simspeed", seed, offload
	sc.Flows = []scenario.Flow{scenario.MPTCPFlow("bulk", 2, 0)}
	sc.Limit = 2*time.Second + virtual + time.Second
	r, err := scenario.Start(&sc)
	if err != nil {
		return err
	}
	r.RunFor(2 * time.Second)
	rx0 := r.Result().Flows[0].Received
	if rx0 == 0 {
		return errors.New("bench: no data moved during the warm-up")
	}
	v0 := r.Elapsed()
	cpu0 := ProcessCPU()
	start := time.Now()
	r.RunFor(virtual)
	wall := time.Since(start)
	cpu := ProcessCPU() - cpu0
	virt := r.Elapsed() - v0
	f := r.Result().Flows[0]
	if f.Mismatch >= 0 || f.Err != nil {
		return fmt.Errorf("bench: simulated flow: mismatch at %d, error %v", f.Mismatch, f.Err)
	}
	s.Metrics["sim_per_wall"] = virt.Seconds() / wall.Seconds()
	if cpu > 0 {
		s.Metrics["sim_per_cpu"] = virt.Seconds() / cpu.Seconds()
	}
	s.Metrics["goodput_mbps"] = float64(f.Received-rx0) * 8 / virt.Seconds() / 1e6
	return nil
}
