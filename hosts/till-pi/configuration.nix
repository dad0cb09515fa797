# A till on a Raspberry Pi 4 (or Pi 400, Compute Module 4), built as an SD
# card image: `nix build .#till-sd-image` (docs/tills.md, "Flashing"). Copy
# this folder for each till, change what the comments say, and build it from
# the co-op's own flake with the Cooperage flake's `nixosModules.till` and
# nixos-hardware's `raspberry-pi-4` module, as this repository's flake.nix does.
{ lib, modulesPath, ... }:
{
  imports = [ "${modulesPath}/installer/sd-card/sd-image-aarch64.nix" ];

  nixpkgs.hostPlatform = "aarch64-linux";
  # The SD image module asks for every kernel module of every board in the
  # initrd; the Raspberry Pi kernel lacks some of them, and the build would
  # stop (NixOS/nixpkgs#154163). The Pi needs only its own.
  hardware.enableAllHardware = lib.mkForce false;
  # The display: the VC4 driver with the firmware's KMS (nixos-hardware), so
  # cage finds a screen.
  hardware.raspberry-pi."4".fkms-3d.enable = true;

  # ---- the till ------------------------------------------------------------
  # A manager sees this name beside the pairing code; one per till.
  networking.hostName = "till-1";
  time.timeZone = "Europe/Stockholm";
  i18n.defaultLocale = "sv_SE.UTF-8";
  console.keyMap = "sv-latin1";

  services.cooperage.till = {
    enable = true;
    # the co-op's server, as members reach it
    server = "https://coop.example.org";
    language = "sv";
    # the co-op's own flake, with this till as nixosConfigurations.till-1:
    # the till upgrades itself from it at night
    upgrade.flake = "github:example-coop/infrastructure#till-1";
  };

  # ---- the card ----------------------------------------------------------------
  image.baseName = "cooperage-till-1";
  # a zstd-compressed image (.img.zst), about a third of the raw size
  sdImage.compressImage = true;
  # fewer writes to the card
  fileSystems."/".options = [ "noatime" ];
  hardware.enableRedistributableFirmware = true;

  # ---- the network ----------------------------------------------------------------
  # Ethernet with DHCP works as it is. For Wi-Fi, see docs/tills.md ("Wi-Fi").

  # ---- administration ------------------------------------------------------------------
  # SSH with keys only, for the co-op's sysadmin; put your own public key here.
  services.openssh = {
    enable = true;
    settings = {
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
      PermitRootLogin = "prohibit-password";
    };
  };
  users.users.root.openssh.authorizedKeys.keys = [
    # "ssh-ed25519 AAAA... you@laptop"
  ];
  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];

  # The release this till was first installed with; never change it later.
  system.stateVersion = "26.05";
}
