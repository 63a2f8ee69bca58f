package bench

import (
	"encoding/json"
	"fmt"
	"os/exec"
)

// hostDrops returns the packets the kernel of ns dropped on its devices
// (transmit and receive, loopback excluded): a TUN device drops what it
// cannot queue for a reader that falls behind, so drops here are losses
// the path emulation did not make (a starved process on a busy machine).
func hostDrops(ns *Netns) (uint64, error) {
	out, err := exec.Command("ip", "-n", ns.Name, "-j", "-s", "link", "show").Output()
	if err != nil {
		return 0, fmt.Errorf("ip -n %s -s link show: %w", ns.Name, err)
	}
	var links []struct {
		Name  string `json:"ifname"`
		Stats struct {
			RX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"rx"`
			TX struct {
				Dropped uint64 `json:"dropped"`
			} `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil {
		return 0, fmt.Errorf("ip -n %s -s link show: %w", ns.Name, err)
	}
	var n uint64
	for _, l := range links {
		if l.Name != "lo" {
			n += l.Stats.RX.Dropped + l.Stats.TX.Dropped
		}
	}
	return n, nil
}

// HostDrops sums hostDrops over the Topology's namespaces.
func (t *Topology) HostDrops() (uint64, error) {
	var n uint64
	for _, ns := range []*Netns{t.clientNS, t.serverNS, t.routerNS} {
		if ns == nil {
			continue
		}
		d, err := hostDrops(ns)
		if err != nil {
			return 0, err
		}
		n += d
	}
	return n, nil
}
