# R reference for replic's "effect of Days for a new subject" estimands.
#
# Run from anywhere:   Rscript tests/r/brms_new_levels.R
# Writes (relative to the repository root):
#   tests/data/brms/sleepstudy_refit_draws.csv.gz  the refit's posterior::as_draws_df() (brms names)
#   tests/data/brms/new_levels_reference.csv       estimand, mean, sd, q025, q50, q975, n
#   tests/data/brms/new_gaussian_slopes.csv.gz     raw pooled gaussian-mode slope draws (.draw, new_subject, slope)
#   tests/data/brms/new_levels_versions.txt        R / brms / rstan / posterior / lme4 versions, run settings
#   tests/data/brms/brms_new_levels.log            the console output of this script (brms source, checks)
#
# Model: Reaction ~ 1 + Days + (1 + Days | Subject), lme4::sleepstudy, brms default priors,
# 4 chains x 1000 draws after 1000 warmup, seed 2026, cores 2 (the same call as
# /work/shared/data/make_sleepstudy_brms_draws.R).
#
# The Days effect of a (new) subject is read off posterior_linpred() at Days = 0 and Days = 1 of the
# same subject: column(Days = 1) - column(Days = 0) = b_Days + (that subject's Days deviation), draw
# by draw (exact, since the linear predictor is linear in Days).
#
# ------------------------------------------------------------------------------------------------
# What brms 2.18.0 does for new levels (source: brms:::get_new_rdraws, called from
# brms:::prepare_predictions_ranef; printed below with getAnywhere() and kept in the .log):
#
#   New levels are the levels of the grouping factor in newdata that are not among the J fitted
#   levels. Each DISTINCT new level gets its own group-level vector (intercept AND slope jointly);
#   all newdata rows with that level share it within one call.  Default sample_new_levels is
#   "uncertainty".
#
#   "gaussian":    for each new level and each posterior draw s independently,
#                  v_s ~ MVN(0, Sigma_s), Sigma_s built from sd_Subject__Intercept, sd_Subject__Days
#                  and cor_Subject__Intercept__Days of draw s (get_cov_matrix), drawn by
#                  rmulti_normal: v_s = z_s %*% chol(Sigma_s), z_s = rnorm(2) (upper Cholesky, i.e.
#                  v = L z with L lower-triangular).  Uses R's RNG (set.seed makes it reproducible).
#                  Effect of Days = b_Days_s + v_s[2].
#
#   "uncertainty": for each new level, ONE vector sel_levels <- sample(1:J, S, replace = TRUE) is
#                  drawn: per posterior draw s, an existing level J*(s) is picked uniformly at random,
#                  independently across draws, and the new level's deviation at draw s is that
#                  level's fitted deviations at the same draw s, r_Subject[J*(s), ] (intercept and
#                  slope taken together from the same level).  Distinct new levels get independent
#                  sel_levels vectors.  Effect of Days = b_Days_s + r_Subject[J*(s), Days]_s.
#                  (With a `by` grouping, J*(s) is restricted to the levels of the same by-group.)
#
#   "old_levels":  for each new level, ONE existing level j* <- sample(1:J, 1) is picked once and
#                  used for ALL draws: the new level's deviations are the whole column
#                  r_Subject[j*, ]_s, s = 1..S.  Distinct new levels pick independently (with
#                  replacement, so two new levels can map to the same old level).  So a single call
#                  with one new level returns exactly the "own subject j*" draws
#                  b_Days_s + r_Subject[j*, Days]_s, for a random j*.
#
#   Marginally (pooled over draws), "uncertainty" and, in expectation over j*, "old_levels" both
#   equal the pooled own-subjects distribution {b_Days_s + r_Subject[j, Days]_s : s, j} (row
#   "own_subjects_pooled" below); they differ in the dependence across draws (old_levels: one
#   subject's posterior; uncertainty: a per-draw mixture).
#
#   re_formula = NA drops all group-level terms: effect = b_Days_s (row "conditional").
# ------------------------------------------------------------------------------------------------
#
# Reference rows (n = number of slope values pooled; quantiles are R's default type 7):
#   conditional          re_formula = NA, 4000 draws
#   own_subjects_pooled  re_formula = NULL on the 18 fitted subjects, pooled over subjects: 18 x 4000
#   new_gaussian         sample_new_levels = "gaussian", N_GAUSS distinct new subjects in one call
#                        (set.seed(2026)), pooled: N_GAUSS x 4000 (these are the raw values written to
#                        new_gaussian_slopes.csv.gz).  Values for different new subjects at the same
#                        draw share b_Days_s and Sigma_s (so they are not independent across subjects).
#   new_uncertainty      sample_new_levels = "uncertainty", N_RESAMPLE distinct new subjects, pooled
#   new_old_levels       sample_new_levels = "old_levels", N_RESAMPLE distinct new subjects, pooled
#                        (a multinomial mixture over the 18 fitted subjects; its limit is
#                        own_subjects_pooled)
#   new_*_single         the same three modes with ONE new subject ("new"), set.seed(2026) — exactly
#                        the call in replic's estimand table; for old_levels the chosen fitted subject
#                        is identified in the .log.

suppressMessages({
  library(lme4)
  library(brms)
  library(posterior)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grepl("^--file=", args)])
root <- if (length(script)) normalizePath(file.path(dirname(script), "..", "..")) else getwd()
outdir <- file.path(root, "tests", "data", "brms")
dir.create(outdir, recursive = TRUE, showWarnings = FALSE)

logfile <- file.path(outdir, "brms_new_levels.log")
zz <- file(logfile, open = "wt")
sink(zz, split = TRUE)
sink(zz, type = "message")

SEED <- 2026
N_GAUSS <- 10      # 10 new subjects x 4000 draws = 40000 raw gaussian slopes
N_RESAMPLE <- 180  # new subjects pooled for "uncertainty" / "old_levels" (about 10 per fitted subject)

versions <- c(
  R = R.version.string,
  brms = as.character(packageVersion("brms")),
  rstan = as.character(packageVersion("rstan")),
  posterior = as.character(packageVersion("posterior")),
  lme4 = as.character(packageVersion("lme4")),
  platform = R.version$platform,
  date = format(Sys.time(), "%Y-%m-%d %H:%M:%S %Z"),
  model = "Reaction ~ 1 + Days + (1 + Days | Subject), lme4::sleepstudy, brms default priors",
  sampler = "chains = 4, iter = 2000 (warmup 1000), seed = 2026, cores = 2, refresh = 0",
  new_levels = sprintf("set.seed(%d) before each posterior_linpred call; N_GAUSS = %d, N_RESAMPLE = %d",
                       SEED, N_GAUSS, N_RESAMPLE)
)
writeLines(paste0(names(versions), ": ", versions), file.path(outdir, "new_levels_versions.txt"))
cat(paste0(names(versions), ": ", versions), sep = "\n")

cat("\n==== brms source: new-level sampling ====\n")
print(getAnywhere("get_new_rdraws"))
print(getAnywhere("prepare_predictions_ranef"))
print(getAnywhere("get_cov_matrix"))
print(getAnywhere("rmulti_normal"))
cat("default sample_new_levels of prepare_predictions.brmsfit: ",
    deparse(formals(brms:::prepare_predictions.brmsfit)$sample_new_levels), "\n")

# ---- 1. fit ------------------------------------------------------------------------------------
d <- lme4::sleepstudy
t0 <- Sys.time()
fit <- brm(Reaction ~ 1 + Days + (1 + Days | Subject), data = d,
           chains = 4, iter = 2000, warmup = 1000, seed = SEED, cores = 2, refresh = 0)
cat("\nfit time: ", format(Sys.time() - t0), "\n")
print(summary(fit))

# ---- 2. draws ----------------------------------------------------------------------------------
dr <- as.data.frame(posterior::as_draws_df(fit))
gz <- gzfile(file.path(outdir, "sleepstudy_refit_draws.csv.gz"), "w")
write.csv(dr, gz, row.names = FALSE)
close(gz)
S <- nrow(dr)
stopifnot(S == 4000)

shared <- "/work/shared/data/sleepstudy_brms_draws.csv"
if (file.exists(shared)) {
  sh <- read.csv(shared, check.names = FALSE)
  common <- intersect(names(sh), names(dr))
  cat("\nmax |refit - shared draws| over common columns: ",
      max(abs(as.matrix(sh[common]) - as.matrix(dr[common]))), "\n")
}

# ---- 3. effects of Days ------------------------------------------------------------------------
slopes_of <- function(lp) {
  # lp: S x (2 * k) matrix, columns ordered (Days 0, Days 1) per subject
  k <- ncol(lp) / 2
  lp[, 2 * seq_len(k)] - lp[, 2 * seq_len(k) - 1]
}
newdata_for <- function(ids) data.frame(Subject = rep(ids, each = 2), Days = rep(c(0, 1), length(ids)))
summ <- function(name, x) {
  q <- quantile(x, c(0.025, 0.5, 0.975), names = FALSE)
  data.frame(estimand = name, mean = mean(x), sd = sd(x), q025 = q[1], q50 = q[2], q975 = q[3],
             n = length(x))
}
new_slopes <- function(ids, mode) {
  set.seed(SEED)
  lp <- posterior_linpred(fit, newdata = newdata_for(ids), allow_new_levels = TRUE,
                          sample_new_levels = mode)
  s <- slopes_of(lp)
  dim(s) <- c(S, length(ids))
  s
}

b_days <- dr$b_Days
r_days <- as.matrix(dr[, grep("^r_Subject\\[.*,Days\\]$", names(dr))])  # S x 18
old_ids <- levels(d$Subject)

# conditional (re_formula = NA)
set.seed(SEED)
cond <- slopes_of(posterior_linpred(fit, newdata = data.frame(Days = c(0, 1)), re_formula = NA))
stopifnot(max(abs(cond - b_days)) < 1e-8)

# the study's own subjects (re_formula = NULL), pooled
own <- slopes_of(posterior_linpred(fit, newdata = newdata_for(old_ids), re_formula = NULL))
stopifnot(max(abs(own - (b_days + r_days))) < 1e-8)

# gaussian: N_GAUSS distinct new subjects in one call
gauss <- new_slopes(paste0("new", seq_len(N_GAUSS)), "gaussian")
gauss1 <- new_slopes("new", "gaussian")

# uncertainty
unc <- new_slopes(paste0("new", seq_len(N_RESAMPLE)), "uncertainty")
unc1 <- new_slopes("new", "uncertainty")
# check the definition: each value equals b_Days_s + r_Subject[j, Days]_s for some j at the same draw
dev_unc <- unc1[, 1] - b_days
match_unc <- apply(abs(r_days - dev_unc), 1, which.min)
stopifnot(max(abs(r_days[cbind(seq_len(S), match_unc)] - dev_unc)) < 1e-8)
cat("\nuncertainty (one new subject): fitted subject picked per draw, counts over 4000 draws:\n")
print(table(factor(old_ids[match_unc], levels = old_ids)))
cat("distinct subjects used:", length(unique(match_unc)), "\n")

# old_levels
old <- new_slopes(paste0("new", seq_len(N_RESAMPLE)), "old_levels")
old1 <- new_slopes("new", "old_levels")
which_old <- function(x) {
  err <- colSums(abs(r_days - (x - b_days)))
  j <- which.min(err)
  stopifnot(err[j] < 1e-6)
  j
}
j1 <- which_old(old1[, 1])
cat("\nold_levels (one new subject, set.seed(2026)): all 4000 draws are those of fitted subject",
    old_ids[j1], "(column", j1, ")\n")
jj <- apply(old, 2, which_old)
cat("old_levels (", N_RESAMPLE, " new subjects): fitted subject counts:\n")
print(table(factor(old_ids[jj], levels = old_ids)))

ref <- rbind(
  summ("conditional", cond),
  summ("own_subjects_pooled", own),
  summ("new_gaussian", gauss),
  summ("new_uncertainty", unc),
  summ("new_old_levels", old),
  summ("new_gaussian_single", gauss1),
  summ("new_uncertainty_single", unc1),
  summ("new_old_levels_single", old1)
)
write.csv(ref, file.path(outdir, "new_levels_reference.csv"), row.names = FALSE)
cat("\n==== reference ====\n")
print(ref, digits = 6)

raw <- data.frame(.draw = rep(dr$.draw, times = N_GAUSS),
                  new_subject = rep(seq_len(N_GAUSS), each = S),
                  slope = as.vector(gauss))
gz <- gzfile(file.path(outdir, "new_gaussian_slopes.csv.gz"), "w")
write.csv(raw, gz, row.names = FALSE)
close(gz)

# sanity: gaussian new-subject slope should be approx N(b_Days, sd_Days^2) mixed over draws
cat("\nmoment check for gaussian mode: mean(b_Days) =", mean(b_days),
    " sqrt(var(b_Days) + mean(sd_Days^2)) =", sqrt(var(b_days) + mean(dr$sd_Subject__Days^2)), "\n")
cat("done\n")
sink(type = "message")
sink()
close(zz)
