//go:build linux

package kernel

// SetInitialSubflows sets the number of subflow slots the array options
// start with, and returns a function restoring it.
func SetInitialSubflows(n int) (restore func()) {
	old := initialSubflows
	initialSubflows = n
	return func() { initialSubflows = old }
}
