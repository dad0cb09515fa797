# nginx in front of every Cooperage service, with Let's Encrypt certificates.
#
# The co-op's domain gets one virtual host; each service adds its location to
# it (see services.nix), Matrix adds its own host (see matrix.nix). ACME needs
# `security.acme.acceptTerms` and `security.acme.defaults.email`, which the
# operator sets: they are the operator's agreement and contact, not ours.
{ config, lib, ... }:
let
  cfg = config.services.cooperage;
in
{
  config = lib.mkIf cfg.enable {
    services.nginx = {
      enable = true;
      recommendedProxySettings = lib.mkDefault true;
      recommendedTlsSettings = lib.mkDefault true;
      recommendedOptimisation = lib.mkDefault true;
      recommendedGzipSettings = lib.mkDefault true;
      virtualHosts = lib.mkIf (cfg.domain != "") {
        ${cfg.domain} = {
          enableACME = lib.mkDefault true;
          forceSSL = lib.mkDefault true;
        };
      };
    };

    networking.firewall.allowedTCPPorts = lib.mkIf cfg.openFirewall [
      80
      443
    ];
  };
}
