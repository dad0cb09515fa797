# expect: not in the Nix store
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { pkgs, ... }: { services.cooperage.mail = { enable = true; from = "a@coop.example.org"; smtp = { host = "smtp.example.org"; username = "a"; passwordFile = "${pkgs.writeText "smtp-password" "hunter2"}"; }; }; };
}
