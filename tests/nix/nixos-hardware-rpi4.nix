# A stand-in for nixos-hardware's `nixosModules.raspberry-pi-4`
# (raspberry-pi/4/default.nix at 740a22363033e9f1bb6270fbfb5a9574067af15b, the
# pin in flake.lock), restating what it sets that our checks read: the
# Raspberry Pi kernel, U-Boot's extlinux instead of GRUB, the device tree
# filter, and the kernel version assertion. Its `hardware.raspberry-pi."4".*`
# options (fkms-3d, apply-overlays-dtmerge, ...) fall under nix-check's
# freeform `hardware`. Only nix-check evaluations use this file.
{ lib, pkgs, ... }:
{
  boot.kernelPackages = lib.mkDefault pkgs.linuxPackages_rpi4;
  boot.initrd.availableKernelModules = [
    "usbhid"
    "usb-storage"
    "vc4"
    "pcie-brcmstb"
    "reset-raspberrypi"
  ];
  boot.loader.grub.enable = lib.mkDefault false;
  boot.loader.generic-extlinux-compatible.enable = lib.mkDefault true;
  hardware.deviceTree.filter = lib.mkDefault "bcm2711-rpi-*.dtb";
}
