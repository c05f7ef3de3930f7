"""`export`: checkpoint -> models/<id>.onnx + models/<id>.json (the model contract
in docs/model-contract.md), checked against ONNX Runtime through the project's
own onnxruntime-node (scripts/ort-run.mjs)."""
import os

from .. import reconet
from ..onnx_files import export_fp16, export_model


def add_arguments(p):
    p.add_argument("--checkpoint", required=True, help="checkpoint.pt from `train`")
    p.add_argument("--id", required=True, help="model id: models/<id>.onnx")
    p.add_argument("--out", default="models", help="output folder (default: models)")
    p.add_argument("--title", help="display name (default: the id)")
    p.add_argument("--painting", default="")
    p.add_argument("--artist", default="")
    p.add_argument("--year", default="")
    p.add_argument("--licence", default="")
    p.add_argument("--source", default="", help="where the painting image came from")
    p.add_argument("--unlisted", action="store_true", help="baseline/fixture: not shown as a style")
    p.add_argument("--variant", choices=["quality", "fast"], help="what kind of model this is (default: quality)")
    p.add_argument("--variant-of", help="the style id this model is a variant of (implies --unlisted)")
    p.add_argument("--model-scale", type=float, help="runtime.modelScale: run at this fraction of the output size")
    p.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime parity check")
    p.add_argument("--fp16", action="store_true", help="also write <id>-fp16.onnx (unlisted variant for GPUs)")
    p.add_argument("--native-short-side", type=int,
                   help="runtime.nativeShortSide: the short side the model paints its strokes for (docs/model-contract.md, \"Working size\")")
    p.add_argument("--recipe", help="the recipe (trainer/recipes/ID.json) this model was built by, recorded in its manifest as its lineage")

def run(args):
    net, state = reconet.load(args.checkpoint)
    train_config = dict(state.get("train_config", {}))
    train_config["steps_done"] = state.get("step")
    for key in ("style", "content"):  # keep paths relative and free of machine details
        if key in train_config:
            train_config[key] = os.path.basename(str(train_config[key]).rstrip("/"))
    extra = {
        "title": args.title or args.id,
        "style": {"painting": args.painting, "artist": args.artist, "year": args.year,
                  "licence": args.licence, "source": args.source},
        "training": train_config,
        "runtime": {},
        "listed": not (args.unlisted or args.variant_of),
    }
    if args.model_scale is not None:
        extra["runtime"]["modelScale"] = args.model_scale
    if args.native_short_side is not None:
        extra["runtime"]["nativeShortSide"] = args.native_short_side
    if net.upscale > 1 and not args.variant_of:
        # A full model that halves the frame itself: the fast preset must not halve it again.
        extra["runtime"]["fastModelScale"] = 1.0
    if args.recipe:
        from .. import lineage
        extra["lineage"] = lineage.lineage(lineage.load(args.recipe))
    if not extra["runtime"]:
        del extra["runtime"]
    if args.variant:
        extra["variant"] = args.variant
    if args.variant_of:
        extra["variantOf"] = args.variant_of
    pruned = train_config.pop("pruned", None)
    if pruned:  # what it was pruned from, and how
        extra["pruned"] = {k: (os.path.basename(os.path.dirname(str(v))) if k == "pruned_from" else v) for k, v in pruned.items()}
    def folder_and_name(path):  # /abs/runs/<name>/step20.pt -> <name>/step20.pt
        path = str(path)
        return os.path.join(os.path.basename(os.path.dirname(path)), os.path.basename(path))

    for key in ("init", "teacher"):
        if key in train_config:
            source = str(train_config[key])
            # runs/<name>/checkpoint.pt -> <name>; models/<id>.onnx -> models/<id>.onnx
            train_config[key] = (folder_and_name(source) if source.endswith(".onnx")
                                 else os.path.basename(os.path.dirname(source)))
    if "averaged_from" in train_config:
        train_config["averaged_from"] = [folder_and_name(p) for p in train_config["averaged_from"]]
    # A run started from --init keeps the init's shape whatever --width/--blocks said: record the network's.
    train_config.update(width=net.width, blocks=net.blocks)
    path, manifest = export_model(net, args.out, args.id, extra, check=not args.no_check)
    if args.fp16:
        export_fp16(net, args.out, args.id, manifest, check=not args.no_check)
    diff = manifest["export"]["parity_max_abs_diff"]
    print(f"exported {path} ({manifest['network']['parameters']} parameters); "
          + (f"ONNX Runtime vs PyTorch max abs diff {diff:.2e}" if diff is not None else "parity not checked"))
    return 0
