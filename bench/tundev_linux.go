package bench

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

// openTUNFD creates the TUN device name in the namespace ns (the namespace
// of a TUN device is the one its file was opened in) and returns its file
// descriptor, non-blocking. With vnetHdr every packet carries a struct
// virtio_net_hdr (IFF_VNET_HDR), which the segmentation offloads need.
func openTUNFD(ns *Netns, name string, vnetHdr bool) (int, error) {
	fd := -1
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("bench: opening /dev/net/tun: %w", err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return fmt.Errorf("bench: device name %q: %w", name, err)
		}
		flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
		if vnetHdr {
			flags |= unix.IFF_VNET_HDR
		}
		ifr.SetUint16(flags)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			return fmt.Errorf("bench: TUNSETIFF %s: %w", name, err)
		}
		return unix.SetNonblock(fd, true)
	})
	if err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, err
	}
	return fd, nil
}

// configureTUN gives the device name in ns the kernel address addr (with
// the path prefix; invalid: none) and the MTU, and brings it up.
func configureTUN(ns *Netns, name string, addr netip.Addr, mtu int) error {
	if err := ns.IP("link", "set", "dev", name, "mtu", strconv.Itoa(mtu), "up"); err != nil {
		return err
	}
	if addr.IsValid() {
		return ns.IP("addr", "add", netip.PrefixFrom(addr, pathPrefix).String(), "dev", name)
	}
	return nil
}

// openOffloadTUN creates a TUN device in ns with the segmentation and
// checksum offloads of wireguard's tun package, configures it and
// returns it. The device disappears when it is closed.
func openOffloadTUN(ns *Netns, name string, addr netip.Addr, mtu int) (wgtun.Device, error) {
	fd, err := openTUNFD(ns, name, true)
	if err != nil {
		return nil, err
	}
	// From here the descriptor belongs to the os.File inside the device,
	// even when CreateUnmonitoredTUNFromFD fails.
	dev, _, err := wgtun.CreateUnmonitoredTUNFromFD(fd)
	if err != nil {
		return nil, fmt.Errorf("bench: setting up %s: %w", name, err)
	}
	if err := configureTUN(ns, name, addr, mtu); err != nil {
		return nil, errors.Join(err, dev.Close())
	}
	return dev, nil
}
