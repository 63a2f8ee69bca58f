//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
)

// ReadMIB reads the MPTcpExt counters of the calling thread's network
// namespace: that of the process, or the one DoInNetns entered.
func ReadMIB() (MIB, error) {
	data, err := os.ReadFile("/proc/thread-self/net/netstat")
	if errors.Is(err, fs.ErrNotExist) {
		// Kernels before 3.17 have no /proc/thread-self.
		data, err = os.ReadFile("/proc/self/net/netstat")
	}
	if err != nil {
		return nil, fmt.Errorf("MPTcpExt counters: %w", err)
	}
	return parseMIBFile(data)
}

// ReadMIBNetns reads the MPTcpExt counters of the network namespace at
// path (/run/netns/NAME, /proc/PID/ns/net …), entering it on a locked OS
// thread.
func ReadMIBNetns(path string) (MIB, error) {
	var m MIB
	err := DoInNetns(path, func() error {
		var err error
		m, err = ReadMIB()
		return err
	})
	return m, err
}

// ReadMIBPid reads the MPTcpExt counters of the network namespace of
// process pid, through /proc/PID/net/netstat.
func ReadMIBPid(pid int) (MIB, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/netstat")
	if err != nil {
		return nil, fmt.Errorf("MPTcpExt counters: %w", err)
	}
	return parseMIBFile(data)
}

func parseMIBFile(data []byte) (MIB, error) {
	m, err := ParseMIB(data)
	if err != nil {
		return nil, fmt.Errorf("MPTcpExt counters: %w", err)
	}
	return m, nil
}
