# References for formulas written with R's factor(), lme4's cbind(successes, n - successes) and
# R's dotted column names (iris's Sepal.Length): lme4's and brms's names of their columns, and
# the fits that use them.
#
# Run from the repository root:   Rscript tests/r/factor_calls.R
# lmer with bobyqa to rhoend 1e-12 and glmer with the controls of tests/r/glmer_reference.R
# (their optimum, not where default tolerances stop).  Reads tests/data/glmer/cbpp.csv (lme4's
# cbpp, period stored as 1..4, so it is numeric until factor() makes it a factor) and writes
# tests/data/spec/
#   iris.csv                  R's iris (Species as the grouping factor)
#   cbpp_na.csv               cbpp with one period missing
#   factor_calls.csv          model, data, formula, term (lme4), brms (colnames of brms's
#                             make_standata X, intercept-centred as brms names it), estimate, se
#   VERSIONS_factor_calls.txt R, lme4, lmerTest, brms versions
# CI never runs R: the CSVs are committed.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(brms)
})
out <- "tests/data/spec"
d <- read.csv("tests/data/glmer/cbpp.csv")
d$herd <- as.character(d$herd)
tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12,
                      optCtrl = list(maxfun = 1e5, rhoend = 1e-10))
lctrl <- lmerControl(optimizer = "bobyqa",
                     optCtrl = list(rhobeg = 2e-3, rhoend = 1e-12, maxfun = 1e5))
rows <- list()
add <- function(model, formula, fit, bf, family, data = "cbpp") {
  co <- summary(fit)$coefficients
  X <- brms::make_standata(bf, data = d, family = family)$X
  rows[[length(rows) + 1]] <<- data.frame(model = model, data = data, formula = formula,
    term = rownames(co),
    brms = colnames(X), estimate = co[, "Estimate"], se = co[, "Std. Error"])
}
f1 <- "incidence ~ factor(period) * size + (1 | herd)"
add("lmer", f1, lmerTest::lmer(as.formula(f1), data = d, control = lctrl),
    incidence ~ factor(period) * size + (1 | herd), gaussian())
f2 <- "cbind(incidence, size - incidence) ~ factor(period) + (1 | herd)"
add("glmer", f2, glmer(as.formula(f2), data = d, family = binomial, control = tight),
    incidence | trials(size) ~ factor(period) + (1 | herd), binomial())
write.csv(iris, file.path(out, "iris.csv"), row.names = FALSE)
d <- read.csv(file.path(out, "iris.csv"))
f4 <- "Sepal.Length ~ log(Petal.Length) + Sepal.Width + (1 | Species)"
add("lmer", f4, lmerTest::lmer(as.formula(f4), data = d, control = lctrl),
    Sepal.Length ~ log(Petal.Length) + Sepal.Width + (1 | Species), gaussian(), "iris")
# a missing value in the factor's column: read.csv keeps it integer, pandas reads it as float
# (1.0, 2.0, ...) until the row is dropped; the levels are still 1..4
d <- read.csv("tests/data/glmer/cbpp.csv")
d$herd <- as.character(d$herd)
d$period[4] <- NA
write.csv(d, file.path(out, "cbpp_na.csv"), row.names = FALSE)
d <- read.csv(file.path(out, "cbpp_na.csv"))
d$herd <- as.character(d$herd)
f5 <- "incidence ~ factor(period) + size + (1 | herd)"
add("lmer", f5, lmerTest::lmer(as.formula(f5), data = d, control = lctrl),
    incidence ~ factor(period) + size + (1 | herd), gaussian(), "cbpp_na")
write.csv(do.call(rbind, rows), file.path(out, "factor_calls.csv"), row.names = FALSE)
writeLines(paste(R.version.string, "lme4", packageVersion("lme4"), "lmerTest",
                 packageVersion("lmerTest"), "brms", packageVersion("brms")),
           file.path(out, "VERSIONS_factor_calls.txt"))
