# expect: services.cooperage.matrix.enable is true but services.cooperage.sso.enable is false
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage = { matrix.enable = true; sso.enable = false; }; };
}
