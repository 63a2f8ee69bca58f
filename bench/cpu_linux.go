package bench

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockThread locks the calling goroutine to its OS thread for good (the
// thread ends with the goroutine) and returns the thread's id.
func lockThread() int {
	runtime.LockOSThread()
	return unix.Gettid()
}

// threadCPU returns the CPU time of the process's thread tid, from
// /proc/self/task/TID/schedstat (nanoseconds on the CPU); 0 once the
// thread has ended.
func threadCPU(tid int) time.Duration {
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/schedstat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	ns, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ns)
}
