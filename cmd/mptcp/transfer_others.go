//go:build !linux

package main

// transferLinkExists reports that no device exists: only Linux has TUN
// devices, and opening one fails with a clear error (tun.ErrUnsupported).
func transferLinkExists(netns, name string) (bool, error) { return false, nil }
