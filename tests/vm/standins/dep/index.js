// The OpenClaw stand-in's dependency: the stand-in loads it at start, so a
// tree npm did not install completely does not run.
module.exports = { name: "clawprov-standin-dep" };
