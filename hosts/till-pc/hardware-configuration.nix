# A placeholder. On the real PC, replace this file by the one
# `nixos-generate-config` writes to /etc/nixos/hardware-configuration.nix
# during the installation (it knows the disk, file systems and kernel modules).
{ lib, ... }:
{
  boot.initrd.availableKernelModules = [
    "ahci"
    "ehci_pci"
    "xhci_pci"
    "usb_storage"
    "sd_mod"
  ];

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
    options = [ "noatime" ];
  };

  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
}
