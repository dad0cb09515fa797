# expect: services.matrix-synapse.workers is not supported with services.cooperage.matrix
{ lib, eval }:
import ./eval.nix {
  inherit lib eval;
  config = {
    services.cooperage.matrix.enable = true;
    services.matrix-synapse.workers.federation_sender = { };
  };
}
