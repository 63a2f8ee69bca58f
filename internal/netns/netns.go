package netns

import "errors"

// ErrNotRestored is wrapped by the error of Do and DoPath when the thread
// that ran the function could not return to its original namespace. The
// function did run, inside the namespace; the thread was discarded.
var ErrNotRestored = errors.New("netns: thread could not return to its network namespace")
