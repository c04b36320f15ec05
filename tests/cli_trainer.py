# A fake trainer for the CLI end-to-end tests: behaves according to a plan indexed by the trial number.
#   cli_trainer.py X PLAN     X: the substituted param, PLAN: comma-separated modes, one per trial number
import json, os, signal, sys, time

number = int(os.environ["DIAL_TRIAL_NUMBER"])
plan = sys.argv[2].split(",")
mode = plan[number % len(plan)]
params = json.load(open(os.environ["DIAL_PARAMS_FILE"]))
x = params["x"]
# The three ways a param arrives must agree.
if float(sys.argv[1]) != float(x) or float(os.environ["DIAL_PARAM_X"]) != float(x):
    print("params disagree: argv %s env %s file %s" % (sys.argv[1], os.environ["DIAL_PARAM_X"], x), file=sys.stderr)
    sys.exit(9)
if os.getcwd() != os.environ["DIAL_TRIAL_DIR"]:
    print("cwd %s is not the trial dir" % os.getcwd(), file=sys.stderr)
    sys.exit(9)
with open("pid", "w") as f:
    f.write(str(os.getpid()))

if mode == "ok":
    print("a plain log line")
    print(json.dumps({"step": 1, "loss": x}))
    print(json.dumps({"loss": x}))
elif mode == "multi":
    print(json.dumps({"loss": x, "size": 1.0 - x}))
elif mode == "fail":
    print("Traceback (most recent call last):", file=sys.stderr)
    print("ValueError: boom at lr %s" % x, file=sys.stderr)
    sys.exit(3)
elif mode == "slow":
    print("started", flush=True)
    time.sleep(60)
    print(json.dumps({"loss": x}))
elif mode == "nan":
    print('{"loss": NaN}')
elif mode == "nometric":
    print(json.dumps({"accuracy": 0.5}))
elif mode in ("good-curve", "bad-curve", "stubborn-curve"):
    if mode == "stubborn-curve":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL after the grace ends it
    for step in range(1, 51):
        value = 1.0 / step if mode == "good-curve" else 10.0 + step
        print(json.dumps({"step": step, "loss": value}))
        time.sleep(0.01 if mode == "good-curve" else 0.1)
    print(json.dumps({"loss": value}))
else:
    sys.exit("unknown mode " + mode)
