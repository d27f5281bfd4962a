"""``rigidpose eval``: score a BOP results CSV against a BOP dataset (ADD(-S), MSSD, MSPD, VSD, AR)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="evaluate pose estimates (BOP results CSV) against a BOP dataset",
        description="Match the estimates of a BOP results CSV to the ground truth of a BOP dataset "
        "and print recall per object and overall: ADD(-S) at 0.1 d, AR_MSSD, AR_MSPD, AR_VSD and AR; then "
        "ADD(-S) by how much of each target is in view (visib_fract bins 10-30, 30-50, 50-70, 70-90 and "
        "90-100 %); then, for score thresholds 0-0.9, the precision (share of the estimates scoring at "
        "least the threshold within ADD(-S) 0.1 d of an instance) and the recall of every such estimate: "
        "how many of the poses a robot acting above a threshold would get wrong.",
    )
    p.add_argument("--results", required=True, help="BOP results CSV (scene_id,im_id,obj_id,score,R,t,time)")
    p.add_argument("--dataset", required=True, help="BOP dataset root (camera.json, models/, <split>/)")
    p.add_argument("--split", default="test", help="split directory under the dataset root (default: test)")
    p.add_argument("--out", help="write the report as JSON to this path")
    p.add_argument("--plot", metavar="PNG",
                   help="write recall-vs-threshold curves (ADD(-S), MSSD, MSPD, VSD; per object and overall) "
                   "and precision and recall against the score threshold here")
    p.add_argument("--metrics", default="add,mssd,mspd,vsd",
                   help="comma-separated subset of add,mssd,mspd,vsd (default: all)")
    p.add_argument("--vsd", action=argparse.BooleanOptionalAction, default=True,
                   help="compute VSD (slow: ray-casts two depth images per estimate); --no-vsd skips it")
    p.add_argument("--points", type=int, default=1000, help="surface points per object for the metrics")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show a progress bar over images")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rigidpose.bop import BopDataset, read_results_csv
    from rigidpose.eval import evaluate
    from rigidpose.eval.report import format_table, write_report_json

    metrics = tuple(m.strip().lower() for m in args.metrics.split(",") if m.strip())
    if not args.vsd:
        metrics = tuple(m for m in metrics if m != "vsd")
    rows = read_results_csv(args.results)
    dataset = BopDataset(args.dataset)
    result = evaluate(dataset, args.split, rows, metrics, n_points=args.points, progress=args.progress)
    print(format_table(result))
    print(f"{result.n_images} images, {result.n_estimates} estimates "
          f"({result.n_estimates_evaluated} evaluated)")
    if result.vsd_seconds_per_estimate is not None:
        print(f"VSD: {1000.0 * result.vsd_seconds_per_estimate:.1f} ms per estimate")
    if args.out:
        write_report_json(args.out, result, results=str(args.results), dataset=str(args.dataset),
                          split=args.split)
        print(f"wrote {args.out}")
    if args.plot:
        from rigidpose.eval.plots import plot_recall_curves

        print(f"wrote {plot_recall_curves(result, args.plot)}")
    return 0
