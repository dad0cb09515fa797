# expect: services.cooperage.sso.clients.forum.redirectUris must list at least one URI
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = { services.cooperage.sso.clients.forum.redirectUris = [ "http://forum.coop.example.org/callback" ]; };
}
