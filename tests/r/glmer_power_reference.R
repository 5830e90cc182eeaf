# Conditional power of a binary replication design by glmer-based simulation (simr-style).
#
# Run from the repository root:
#   Rscript tests/r/glmer_power_reference.R            # default control, 1000 replicates
#   Rscript tests/r/glmer_power_reference.R tight 500  # bobyqa to rhoend 1e-10, PIRLS 1e-12
# Versions: tests/data/glmer/VERSIONS_power.txt (R 4.2.2, lme4 1.1.31).
# Fixed parameters (one parameter set, "conditional power"):
#   y ~ Bernoulli(plogis((b0 + u0) + (b1 + u1) x)),  x = 0..9 for each of k new subjects,
#   b0 = -0.5, b1 = 0.12, sd(u0) = 1, sd(u1) = 0.1, cor(u0, u1) = 0.2.
# Each simulated replicate is fitted by glmer(y ~ x + (x | g), binomial) with default control
# (as simr does) or, with "tight", at glmer's optimum (default control stops early enough to
# shift the SE of x by 1-6% in this design, see README); the replication succeeds when
# summary()'s Wald p-value of x is below 0.05 and the estimate is positive (the original's
# direction).  Fits that fail count as failures to
# replicate and are listed; convergence warnings are counted but the fits are kept (simr keeps
# them too).
# Writes tests/data/glmer/power_reference.csv (tight: power_reference_tight.csv): k, reps, power,
# mcse, n_warnings, n_errors, mean_estimate, mean_se.  CI never runs R.
suppressPackageStartupMessages(library(lme4))
out <- "tests/data/glmer"
args <- commandArgs(trailingOnly = TRUE)
mode <- if (length(args) >= 1) args[1] else "default"
R <- if (length(args) >= 2) as.integer(args[2]) else 1000L
ctl <- if (mode == "tight") glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12,
                                         optCtrl = list(maxfun = 1e5, rhoend = 1e-10)) else
  glmerControl()
writeLines(sprintf("R %s, lme4 %s", paste(R.version$major, R.version$minor, sep = "."),
                   packageVersion("lme4")), file.path(out, "VERSIONS_power.txt"))
set.seed(if (mode == "tight") 20261131 else 20261130)
b <- c(-0.5, 0.12); sds <- c(1, 0.1); rho <- 0.2
S <- diag(sds) %*% matrix(c(1, rho, rho, 1), 2) %*% diag(sds)
L <- t(chol(S))
x <- 0:9
one <- function(k) {
  u <- t(L %*% matrix(rnorm(2 * k), 2))
  d <- expand.grid(x = x, g = factor(seq_len(k)))
  eta <- b[1] + u[d$g, 1] + (b[2] + u[d$g, 2]) * d$x
  d$y <- rbinom(nrow(d), 1, plogis(eta))
  warn <- FALSE
  fit <- tryCatch(withCallingHandlers(
    glmer(y ~ x + (x | g), data = d, family = binomial, control = ctl),
    warning = function(w) { warn <<- TRUE; invokeRestart("muffleWarning") },
    message = function(m) invokeRestart("muffleMessage")), error = function(e) NULL)
  if (is.null(fit)) return(c(NA, NA, NA, warn))
  cf <- summary(fit)$coefficients["x", ]
  c(cf[["Estimate"]], cf[["Std. Error"]], cf[["Pr(>|z|)"]], warn)
}
rows <- list()
for (k in c(20)) {
  res <- t(replicate(R, one(k)))
  ok <- !is.na(res[, 1])
  success <- ok & res[, 3] < 0.05 & res[, 1] > 0
  p <- mean(success)
  rows[[length(rows) + 1]] <- data.frame(k = k, reps = R, power = p,
                                         mcse = sqrt(p * (1 - p) / R),
                                         n_warnings = sum(res[, 4] == 1), n_errors = sum(!ok),
                                         mean_estimate = mean(res[ok, 1]),
                                         mean_se = mean(res[ok, 2]))
  print(rows[[length(rows)]])
}
write.csv(do.call(rbind, rows), file.path(out, if (mode == "tight") "power_reference_tight.csv"
                                         else "power_reference.csv"), row.names = FALSE)
