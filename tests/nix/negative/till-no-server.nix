# expect: services.cooperage.till.server is not set: give the co-op's server
{ lib, eval }:
import ./till-eval.nix {
  inherit lib eval;
  base = {
    networking.hostName = "till-9";
    time.timeZone = "Europe/Stockholm";
    system.stateVersion = "26.05";
    boot.loader.grub.device = "nodev";
    fileSystems."/".device = "/dev/sda1";
  };
  config.services.cooperage.till.enable = true;
}
