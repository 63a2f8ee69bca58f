package bench

import "fmt"

// TUNSubject is a userspace stack measured by RunTUN.
type TUNSubject string

// The subjects of RunTUN.
const (
	TUNGomptcpMPTCP    TUNSubject = "gomptcp mptcp"          // one MPTCP subflow against the kernel's MPTCP
	TUNGomptcpTCP      TUNSubject = "gomptcp tcp"            // plain TCP against the kernel's TCP
	TUNGomptcpTCPNoGSO TUNSubject = "gomptcp tcp no-offload" // the same, the device without offloads
	TUNGVisorTCP       TUNSubject = "gvisor tcp"             // gVisor netstack's TCP against the kernel's TCP
)

// DefaultTUNSubjects are all of them.
func DefaultTUNSubjects() []TUNSubject {
	return []TUNSubject{TUNGomptcpMPTCP, TUNGomptcpTCP, TUNGomptcpTCPNoGSO, TUNGVisorTCP}
}

// tunTopology is a topology of a TUN subject.
type tunTopology interface {
	Dialer
	Close() error
}

func newTUNTopology(s TUNSubject, mtu int) (tunTopology, error) {
	cfg := TopoConfig{Pairing: GomptcpLinux, Paths: []PathSpec{{}}, Bare: true, MTU: mtu}
	switch s {
	case TUNGomptcpMPTCP:
	case TUNGomptcpTCP:
		cfg.TCP = true
	case TUNGomptcpTCPNoGSO:
		cfg.TCP, cfg.DisableOffloads = true, true
	case TUNGVisorTCP:
		return NewGVisorTopology(mtu)
	default:
		return nil, fmt.Errorf("bench: unknown TUN subject %q", s)
	}
	return NewTopology(cfg)
}

// RunTUN measures single-connection throughput over one TUN device at
// MTU 1500 with nothing on the path, between a userspace stack (the
// client, outside the namespace) and the kernel (the server, inside):
// "up" the userspace stack sends, "down" the kernel does. Every subject is
// measured once per run and direction, back to back.
func RunTUN(o Options, subjects []TUNSubject) ([]Sample, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	var out []Sample
	for run := range o.Runs {
		for _, dir := range []string{"up", "down"} {
			for _, subj := range subjects {
				s := Sample{Bench: "tun", Case: dir, Subject: string(subj), Run: run, Metrics: map[string]float64{}}
				if err := tunSample(&s, subj, Transfer{Duration: o.Duration, Warmup: o.Warmup, Reverse: dir == "down"}); err != nil {
					s.Err = err.Error()
				}
				o.logf("tun run %d %s %s: %.0f Mbit/s, %.2f CPU s/GB %s", run, dir, subj, s.Metrics["goodput_mbps"], s.Metrics["cpu_s_per_gb"], s.Err)
				out = append(out, s)
			}
		}
	}
	return out, nil
}

func tunSample(s *Sample, subj TUNSubject, tr Transfer) (err error) {
	topo, err := newTUNTopology(subj, 1500)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := topo.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	res, err := tr.Run(topo)
	if err != nil {
		return err
	}
	s.Metrics["goodput_mbps"] = res.Goodput / 1e6
	s.Metrics["cpu_s_per_gb"] = res.CPUPerGB()
	return res.Err
}
