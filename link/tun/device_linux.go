package tun

import (
	"errors"
	"fmt"

	"github.com/gomptcp/mptcp/internal/netns"
	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// cloneDevice is the TUN clone device (Documentation/networking/tuntap.rst).
const cloneDevice = "/dev/net/tun"

// openTUN opens the TUN clone device in the network namespace nsfd (-1 for
// the current one) and creates or attaches to the device called name ("" to
// let the kernel choose). With vnetHdr every packet read or written is
// preceded by a struct virtio_net_hdr, which is what lets the kernel pass
// segmentation and checksum work across the device; wireguard's tun package
// then turns on TCP (and, where the kernel has it, UDP) offloads with
// TUNSETOFFLOAD and does the splitting and coalescing. It returns the device
// and its name.
//
// The device is opened without wireguard's link monitor: the Stack watches
// its links itself over rtnetlink.
func openTUN(nsfd int, name string, vnetHdr bool) (wgtun.Device, string, error) {
	var fd int
	// The namespace of a TUN device is the one its file was opened in.
	err := inNetNS(nsfd, func() error {
		var err error
		fd, err = unix.Open(cloneDevice, unix.O_RDWR|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, "", fmt.Errorf("tun: opening %s: %w", cloneDevice, err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("tun: device name %q: %w", name, err)
	}
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if vnetHdr {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		switch {
		case errors.Is(err, unix.EBUSY):
			return nil, "", fmt.Errorf("tun: device %s is attached to another file descriptor: %w", name, err)
		case errors.Is(err, unix.EINVAL):
			return nil, "", fmt.Errorf("tun: %s is not a single-queue TUN device (a TAP, multi-queue or other kind of device has that name): %w", name, err)
		}
		return nil, "", fmt.Errorf("tun: TUNSETIFF %s: %w", name, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, "", fmt.Errorf("tun: %s: %w", name, err)
	}
	// From here the file descriptor belongs to an os.File inside
	// CreateUnmonitoredTUNFromFD, even when it fails: closing it here could
	// close a descriptor that has been reused, so on failure it is left to
	// that file's finalizer.
	dev, got, err := wgtun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil {
		return nil, "", fmt.Errorf("tun: setting up %s: %w", name, err)
	}
	return dev, got, nil
}

// inNetNS runs f on an OS thread that is in the network namespace nsfd; a
// negative nsfd runs f as it is. The thread returns to its namespace
// afterwards, or is discarded if it cannot: f has run in the namespace all
// the same, so that is no error here.
func inNetNS(nsfd int, f func() error) error {
	if nsfd < 0 {
		return f()
	}
	var ferr error
	err := netns.Do(nsfd, func() error {
		ferr = f()
		return ferr
	})
	if errors.Is(err, netns.ErrNotRestored) {
		return ferr
	}
	return err
}
