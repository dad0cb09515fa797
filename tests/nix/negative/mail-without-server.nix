# expect: services.cooperage.mail.smtp.host must be set
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.mail.enable = true; };
}
