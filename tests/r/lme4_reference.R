# Reference fits for replic.lmm: lme4 1.1 + lmerTest 3.1 (Satterthwaite).
#
# Run from the repository root:   Rscript tests/r/lme4_reference.R
# Writes tests/data/lme4/<dataset>.csv (the data) and the fits:
#   fixed.csv    dataset, reml, term, estimate, se, df, t, p
#   varcorr.csv  dataset, reml, name, value   (sd_<term>, cor_<a>__<b>, sigma)
#   fit.csv      dataset, reml, formula, criterion, loglik, singular, n, n_groups
#   theta.csv    dataset, reml, index, theta
#   ranef.csv    dataset, reml, level, term, value   (conditional modes, BLUPs)
#   kr.csv       dataset, term, se, df    (REML fits, lmerTest ddf = "Kenward-Roger", pbkrtest)
#   replicates.csv      sleepstudy-shaped replicate data sets (rep, missing, g, x, y): 6 subjects x
#                       Days 0..9, 12 complete and 12 with 20% missing at random
#   replicate_fits.csv  their REML fits: rep, missing, estimate, se, df (of x), criterion, singular
# CI never runs R: the CSVs are committed.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
})
out <- "tests/data/lme4"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
set.seed(20261125)

simulate_lmm <- function(J, T, Sigma, beta, sigma, x = seq(0, T - 1)) {
  L <- t(chol(Sigma))
  rows <- list()
  for (j in seq_len(J)) {
    u <- as.vector(L %*% rnorm(ncol(Sigma)))
    y <- (beta[1] + u[1]) + (beta[2] + u[2]) * x + rnorm(length(x), 0, sigma)
    rows[[j]] <- data.frame(y = y, x = x, g = sprintf("s%02d", j))
  }
  do.call(rbind, rows)
}

datasets <- list()

# balanced: 20 subjects x 8 occasions, correlated intercept and slope
datasets$balanced <- list(
  data = simulate_lmm(20, 8, matrix(c(400, 30, 30, 25), 2), c(250, 10), 25),
  formula = y ~ 1 + x + (1 + x | g))

# the same with 20% of the rows missing at random
b <- datasets$balanced$data
datasets$balanced_missing <- list(data = b[runif(nrow(b)) >= 0.2, ],
                                  formula = y ~ 1 + x + (1 + x | g))

# unbalanced: 25 subjects with 3..12 observations, two random slopes (3x3 covariance)
rows <- list()
S3 <- matrix(c(4, 0.6, -0.4, 0.6, 1, 0.2, -0.4, 0.2, 0.5), 3)
L3 <- t(chol(S3))
for (j in 1:25) {
  nj <- sample(3:12, 1)
  x1 <- runif(nj, 0, 5)
  x2 <- rnorm(nj)
  u <- as.vector(L3 %*% rnorm(3))
  y <- (1 + u[1]) + (0.5 + u[2]) * x1 + (-1 + u[3]) * x2 + rnorm(nj, 0, 1)
  rows[[j]] <- data.frame(y = y, x1 = x1, x2 = x2, g = sprintf("g%02d", j))
}
datasets$unbalanced <- list(data = do.call(rbind, rows),
                            formula = y ~ 1 + x1 + x2 + (1 + x1 + x2 | g))

# near-singular: no slope variation at all, lme4 lands on the boundary
datasets$near_singular <- list(
  data = simulate_lmm(12, 6, matrix(c(100, 0, 0, 1e-8), 2), c(50, 2), 10),
  formula = y ~ 1 + x + (1 + x | g))

# few subjects: 4 subjects x 10 occasions
datasets$few_subjects <- list(
  data = simulate_lmm(4, 10, matrix(c(200, -10, -10, 16), 2), c(100, 5), 8),
  formula = y ~ 1 + x + (1 + x | g))

# random intercept only, unbalanced
ri <- simulate_lmm(15, 7, matrix(c(50, 0, 0, 1e-8), 2), c(10, 1), 4)
datasets$intercept_only <- list(data = ri[runif(nrow(ri)) >= 0.3, ], formula = y ~ 1 + x + (1 | g))

# uncorrelated-free slope only: (0 + x | g)
datasets$slope_only <- list(
  data = simulate_lmm(15, 7, matrix(c(1e-8, 0, 0, 9), 2), c(10, 1), 3),
  formula = y ~ 1 + x + (0 + x | g))

# sleepstudy (replic/datasets/sleepstudy.csv)
ss <- read.csv("replic/datasets/sleepstudy.csv", colClasses = c(Subject = "character"))
datasets$sleepstudy <- list(data = ss, formula = Reaction ~ 1 + Days + (1 + Days | Subject))

fixed <- list(); varcorr <- list(); fits <- list(); thetas <- list(); ranefs <- list()
krs <- list()
for (name in names(datasets)) {
  d <- datasets[[name]]
  if (name != "sleepstudy") write.csv(d$data, file.path(out, paste0(name, ".csv")), row.names = FALSE)
  for (reml in c(TRUE, FALSE)) {
    m <- lmer(d$formula, data = d$data, REML = reml,
              control = lmerControl(optimizer = "bobyqa",
                                    optCtrl = list(rhobeg = 2e-3, rhoend = 2e-11, maxfun = 1e5)))
    co <- summary(m)$coefficients
    fixed[[length(fixed) + 1]] <- data.frame(
      dataset = name, reml = reml, term = sub("\\(Intercept\\)", "Intercept", rownames(co)),
      estimate = co[, "Estimate"], se = co[, "Std. Error"], df = co[, "df"],
      t = co[, "t value"], p = co[, "Pr(>|t|)"])
    vc <- as.data.frame(VarCorr(m))
    rename <- function(v) sub("\\(Intercept\\)", "Intercept", v)
    nm <- ifelse(vc$grp == "Residual", "sigma",
                 ifelse(is.na(vc$var2), paste0("sd_", rename(vc$var1)),
                        paste0("cor_", rename(vc$var1), "__", rename(vc$var2))))
    varcorr[[length(varcorr) + 1]] <- data.frame(dataset = name, reml = reml, name = nm,
                                                 value = vc$sdcor)
    crit <- if (reml) REMLcrit(m) else deviance(m)
    fits[[length(fits) + 1]] <- data.frame(
      dataset = name, reml = reml, formula = deparse(d$formula), criterion = crit,
      loglik = as.numeric(logLik(m)), singular = isSingular(m), n = nobs(m),
      n_groups = ngrps(m)[[1]])
    thetas[[length(thetas) + 1]] <- data.frame(dataset = name, reml = reml,
                                               index = seq_along(getME(m, "theta")),
                                               theta = unname(getME(m, "theta")))
    if (reml) {
      kr <- summary(m, ddf = "Kenward-Roger")$coefficients
      krs[[length(krs) + 1]] <- data.frame(
        dataset = name, term = sub("\\(Intercept\\)", "Intercept", rownames(kr)),
        se = kr[, "Std. Error"], df = kr[, "df"])
    }
    re <- ranef(m)[[1]]
    ranefs[[length(ranefs) + 1]] <- data.frame(
      dataset = name, reml = reml, level = rep(rownames(re), ncol(re)),
      term = rep(sub("\\(Intercept\\)", "Intercept", colnames(re)), each = nrow(re)),
      value = unlist(re, use.names = FALSE))
  }
}
w <- function(x, f) write.csv(do.call(rbind, x), file.path(out, f), row.names = FALSE)
w(fixed, "fixed.csv"); w(varcorr, "varcorr.csv"); w(fits, "fit.csv"); w(thetas, "theta.csv")
w(ranefs, "ranef.csv"); w(krs, "kr.csv")
# replicate data sets for the batched engine (replic.lmm.fit_replicates)
reps <- list(); rfits <- list()
for (r in 1:24) {
  miss <- r > 12
  d <- simulate_lmm(6, 10, matrix(c(612, 9.6, 9.6, 35), 2), c(251.4, 10.5), 25.6)
  if (miss) d <- d[runif(nrow(d)) >= 0.2, ]
  m <- suppressMessages(lmer(y ~ 1 + x + (1 + x | g), data = d,
            control = lmerControl(optimizer = "bobyqa",
                                  optCtrl = list(rhobeg = 2e-3, rhoend = 2e-11, maxfun = 1e5))))
  co <- summary(m)$coefficients
  reps[[r]] <- data.frame(rep = r, missing = miss, d)
  rfits[[r]] <- data.frame(rep = r, missing = miss, estimate = co["x", "Estimate"],
                           se = co["x", "Std. Error"], df = co["x", "df"],
                           criterion = REMLcrit(m), singular = isSingular(m))
}
w(reps, "replicates.csv"); w(rfits, "replicate_fits.csv")
cat(sprintf("R %s, lme4 %s, lmerTest %s, pbkrtest %s\n", getRversion(),
            packageVersion("lme4"), packageVersion("lmerTest"), packageVersion("pbkrtest")),
    file = file.path(out, "VERSIONS.txt"))
