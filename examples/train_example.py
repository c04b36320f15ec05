# A ten-line trainer that speaks dial's protocol: params in argv, JSON lines out (docs/command-objective.md).
import argparse, json, math
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--layers", type=int, default=2)
args = parser.parse_args()
for epoch in range(1, 11):
    wer = 0.1 + abs(math.log10(args.lr) + 3) * 0.05 + 0.3 / (epoch * args.layers)
    print(json.dumps({"step": epoch, "wer": wer}))  # an intermediate value: may be pruned here
print(json.dumps({"wer": wer}))  # the final line: the objective value
