//go:build linux

package kernel

import "os"

// Sysctls reads the MPTCP sysctls of the calling thread's network
// namespace (that of the process, or the one DoInNetns entered).
func Sysctls() (*SysctlValues, error) {
	return ReadSysctls(os.DirFS(SysctlDir))
}

// SetSysctl validates value (see ValidateSysctl) and writes it to the
// named knob of the calling thread's network namespace. Knobs of newer
// kernels unknown to this package can be written if they exist. Writing
// needs CAP_NET_ADMIN in the namespace.
func SetSysctl(name, value string) error {
	return setSysctlIn(SysctlDir, name, value)
}
