# Satterthwaite df references for replic.lmm at a tight optimum: lme4 1.1 + lmerTest 3.1.
#
# Run from the repository root:   Rscript tests/r/satterthwaite_reference.R
# Real longitudinal data sets (nlme's Oxboys and Orthodont, lme4's sleepstudy) are written to
# CSV and read back with read.csv, so R fits exactly what replic reads (factor levels as R gives
# them for the CSV).  Each is fitted by REML and ML with bobyqa run to rhoend = 1e-12; lmerTest's
# Satterthwaite df (numDeriv Hessian and Jacobian at that optimum) are written with the theta of
# the optimum:
#   tests/data/lme4/<name>.csv            the data (oxboys, orthodont)
#   tests/data/lme4/satterthwaite.csv     dataset, formula, reml, term, estimate, se, df, singular
#   tests/data/lme4/satterthwaite_theta.csv  dataset, reml, index, theta
# CI never runs R: the CSVs are committed.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(nlme)
})
out <- "tests/data/lme4"
ctrl <- lmerControl(optimizer = "bobyqa",
                    optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))

ox <- as.data.frame(nlme::Oxboys)
ox$Subject <- as.character(ox$Subject)
write.csv(ox[, c("Subject", "age", "height", "Occasion")], file.path(out, "oxboys.csv"),
          row.names = FALSE)
od <- as.data.frame(nlme::Orthodont)
od$Subject <- as.character(od$Subject)
od$Sex <- as.character(od$Sex)
write.csv(od[, c("distance", "age", "Subject", "Sex")], file.path(out, "orthodont.csv"),
          row.names = FALSE)

cases <- list(
  list(name = "oxboys", file = file.path(out, "oxboys.csv"),
       formula = height ~ age + (age | Subject)),
  list(name = "orthodont", file = file.path(out, "orthodont.csv"),
       formula = distance ~ age * Sex + (age | Subject)),
  list(name = "sleepstudy", file = "replic/datasets/sleepstudy.csv",
       formula = Reaction ~ Days + (Days | Subject)),
  list(name = "near_singular", file = file.path(out, "near_singular.csv"),
       formula = y ~ 1 + x + (1 + x | g))
)
rows <- list(); thetas <- list()
for (cs in cases) {
  d <- read.csv(cs$file)
  if ("Subject" %in% names(d)) d$Subject <- as.character(d$Subject)
  for (reml in c(TRUE, FALSE)) {
    m <- lmerTest::lmer(cs$formula, data = d, REML = reml, control = ctrl)
    co <- summary(m)$coefficients
    rows[[length(rows) + 1]] <- data.frame(
      dataset = cs$name, formula = deparse(cs$formula), reml = reml,
      term = sub("\\(Intercept\\)", "Intercept", rownames(co)),
      estimate = co[, "Estimate"], se = co[, "Std. Error"], df = co[, "df"],
      singular = isSingular(m), n = nobs(m))
    thetas[[length(thetas) + 1]] <- data.frame(dataset = cs$name, reml = reml,
                                               index = seq_along(getME(m, "theta")),
                                               theta = unname(getME(m, "theta")))
  }
}
w <- function(x, f) write.csv(do.call(rbind, x), file.path(out, f), row.names = FALSE)
options(digits = 15)
w(rows, "satterthwaite.csv"); w(thetas, "satterthwaite_theta.csv")
cat(sprintf("satterthwaite_reference.R: R %s, lme4 %s, lmerTest %s, nlme %s, numDeriv %s\n",
            getRversion(), packageVersion("lme4"), packageVersion("lmerTest"),
            packageVersion("nlme"), packageVersion("numDeriv")),
    file = file.path(out, "VERSIONS_satterthwaite.txt"))
