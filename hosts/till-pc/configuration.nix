# A till on an old x86 PC (any 64-bit PC from about 2010 on with 2 GiB of
# memory), installed from the ordinary NixOS installer: docs/tills.md, "A PC
# as a till". Copy this folder for each till and change what the comments say.
{ ... }:
{
  imports = [ ./hardware-configuration.nix ];

  # ---- the till ------------------------------------------------------------
  networking.hostName = "till-2";
  time.timeZone = "Europe/Stockholm";
  i18n.defaultLocale = "sv_SE.UTF-8";
  console.keyMap = "sv-latin1";

  services.cooperage.till = {
    enable = true;
    server = "https://coop.example.org";
    language = "sv";
    upgrade.flake = "github:example-coop/infrastructure#till-2";
    # A scale on the PC's own serial port (COM1), as a till's group may open it.
    devices.extraUdevRules = ''
      SUBSYSTEM=="tty", KERNEL=="ttyS0", GROUP="cooperage-till", MODE="0660"
    '';
  };

  # ---- the machine -------------------------------------------------------------
  # Most old PCs boot with BIOS; for UEFI, use systemd-boot as the installer
  # suggests (hardware-configuration.nix).
  boot.loader.grub = {
    enable = true;
    device = "/dev/sda";
  };
  hardware.enableRedistributableFirmware = true;

  # ---- administration ------------------------------------------------------------------
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

  system.stateVersion = "26.05";
}
