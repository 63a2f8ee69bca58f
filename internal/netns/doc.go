// Package netns runs code inside a Linux network namespace.
//
// A network namespace belongs to an OS thread, not to a process or a
// goroutine: Do and DoPath run a function on a goroutine locked to an OS
// thread that has entered the namespace (setns(2) with CLONE_NEWNET), then
// move that thread back to the namespace it came from before other
// goroutines may run on it. Sockets opened inside stay in the namespace
// after the function returns; files under /proc/thread-self/net and
// /proc/sys/net opened inside are those of the namespace. Goroutines the
// function starts run in whatever namespace their own threads are in.
//
// Entering a namespace needs CAP_SYS_ADMIN. A thread that cannot return to
// its original namespace is never reused: its goroutine exits still locked
// to it, which ends the thread, and the error wraps ErrNotRestored.
//
// On other systems Do and DoPath return an error wrapping
// errors.ErrUnsupported.
package netns
