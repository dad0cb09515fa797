# expect: services.cooperage.finance.enable is true but services.cooperage.sso.enable is false
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage = { finance.enable = true; sso.enable = false; }; };
}
