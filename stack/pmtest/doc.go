// Package pmtest helps test path managers (stack.PathManager) without a
// network: Controller is a fake connection that records, as text, what a
// path manager asks of it, so that a table test can feed a path manager
// a sequence of events and compare what it did, event by event.
package pmtest
