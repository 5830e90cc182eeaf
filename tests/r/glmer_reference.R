# Reference fits for replic.glmm (fit_glmm): lme4::glmer at its optimum.
#
# Run from the repository root:   Rscript tests/r/glmer_reference.R
# Versions are written to tests/data/glmer/VERSIONS.txt (R 4.2.2, lme4 1.1.31, MASS 7.3,
# mlmRev and geepack for the Contraception and ohio data).
# Controls: bobyqa in both stages with maxfun 1e5 and rhoend 1e-10, PIRLS tolerance 1e-12
# (tolPwrss), so the references are the optimum rather than where default tolerances stop; each
# fit's convergence messages are written beside it (none expected) and the difference from a
# default-control fit is printed.
# Writes tests/data/glmer/:
#   <dataset>.csv   the data
#   fixed.csv       model, term, estimate, se, z, p, se_d3, se_rx   (se: vcov(), lme4's default
#                   from the finite-difference Hessian of the deviance in (theta, beta), step
#                   1e-4; se_d3: the same with step 1e-3 -- glmer's deviance function carries
#                   PIRLS noise of ~1e-9 that the 1e-4 stencil amplifies to ~1e-4 relative in
#                   some SEs, 100 times less with 1e-3; se_rx: vcov(use.hessian = FALSE))
#   varcorr.csv     model, name, value     (sd_<term>, cor_<a>__<b>)
#   theta.csv       model, index, theta
#   fit.csv         model, dataset, formula, family, nAGQ, loglik, deviance, singular, messages
# CI never runs R: the CSVs are committed.
suppressPackageStartupMessages({
  library(lme4)
  library(MASS)
})
out <- "tests/data/glmer"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
writeLines(sprintf("R %s, lme4 %s, Matrix %s, minqa %s, MASS %s",
                   paste(R.version$major, R.version$minor, sep = "."),
                   packageVersion("lme4"), packageVersion("Matrix"), packageVersion("minqa"),
                   packageVersion("MASS")),
           file.path(out, "VERSIONS.txt"))

tight <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12,
                      optCtrl = list(maxfun = 1e5, rhoend = 1e-10))

bacteria01 <- data.frame(y = as.integer(MASS::bacteria$y == "y"), week = MASS::bacteria$week,
                         trt = as.character(MASS::bacteria$trt), ID = as.character(MASS::bacteria$ID))
cbpp1 <- data.frame(herd = as.character(lme4::cbpp$herd), period = as.character(lme4::cbpp$period),
                    incidence = lme4::cbpp$incidence, size = lme4::cbpp$size)
gt <- lme4::grouseticks
grouse <- data.frame(TICKS = gt$TICKS, YEAR = paste0("Y", as.character(gt$YEAR)),
                     HEIGHT = gt$HEIGHT, BROOD = as.character(gt$BROOD))
data(Contraception, package = "mlmRev")
contraception <- data.frame(use = as.integer(Contraception$use == "Y"), age = Contraception$age,
                            urban = as.character(Contraception$urban),
                            district = as.character(Contraception$district))
data(ohio, package = "geepack")
ohio1 <- data.frame(resp = ohio$resp, age = ohio$age, smoke = ohio$smoke, id = as.character(ohio$id))
data_sets <- list(bacteria = bacteria01, cbpp = cbpp1, grouseticks = grouse,
                  contraception = contraception, ohio = ohio1)
for (nm in names(data_sets)) write.csv(data_sets[[nm]], file.path(out, paste0(nm, ".csv")),
                                       row.names = FALSE)

models <- list(
  list(model = "bacteria_slope", data = "bacteria", family = binomial,
       formula = y ~ week + (week | ID), nAGQ = 1),
  list(model = "contraception", data = "contraception", family = binomial,
       formula = use ~ age + urban + (urban | district), nAGQ = 1),
  list(model = "ohio", data = "ohio", family = binomial,
       formula = resp ~ age + smoke + (age | id), nAGQ = 1),
  list(model = "cbpp", data = "cbpp", family = binomial,
       formula = cbind(incidence, size - incidence) ~ period + (1 | herd), nAGQ = 1),
  list(model = "cbpp_agq9", data = "cbpp", family = binomial,
       formula = cbind(incidence, size - incidence) ~ period + (1 | herd), nAGQ = 9),
  list(model = "cbpp_agq25", data = "cbpp", family = binomial,
       formula = cbind(incidence, size - incidence) ~ period + (1 | herd), nAGQ = 25),
  list(model = "grouseticks", data = "grouseticks", family = poisson,
       formula = TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD), nAGQ = 1),
  list(model = "grouseticks_agq5", data = "grouseticks", family = poisson,
       formula = TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD), nAGQ = 5)
)

fixed <- list(); varcorr <- list(); thetas <- list(); fits <- list()
for (m in models) {
  d <- data_sets[[m$data]]
  msgs <- character()
  fit <- withCallingHandlers(
    glmer(m$formula, data = d, family = m$family, nAGQ = m$nAGQ, control = tight),
    warning = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleWarning") },
    message = function(w) { msgs <<- c(msgs, conditionMessage(w)); invokeRestart("muffleMessage") })
  msgs <- c(msgs, fit@optinfo$conv$lme4$messages)
  default <- suppressWarnings(suppressMessages(
    glmer(m$formula, data = d, family = m$family, nAGQ = m$nAGQ)))
  cat(sprintf("%-18s max |fixef tight - default| = %.2e, max |se diff| = %.2e\n", m$model,
              max(abs(fixef(fit) - fixef(default))),
              max(abs(sqrt(diag(vcov(fit))) - sqrt(diag(vcov(default)))))))
  cf <- summary(fit)$coefficients
  dfun <- update(fit, devFunOnly = TRUE)
  nth <- length(getME(fit, "theta"))
  H3 <- lme4:::deriv12(dfun, c(getME(fit, "theta"), fixef(fit)), delta = 1e-3)$Hessian
  se_d3 <- sqrt(diag(2 * solve(H3))[-seq_len(nth)])
  fixed[[m$model]] <- data.frame(model = m$model, term = rownames(cf), estimate = cf[, 1],
                                 se = cf[, 2], z = cf[, 3], p = cf[, 4], se_d3 = se_d3,
                                 se_rx = sqrt(diag(as.matrix(vcov(fit, use.hessian = FALSE)))))
  vc <- as.data.frame(VarCorr(fit))
  nm <- ifelse(is.na(vc$var2), paste0("sd_", vc$var1), paste0("cor_", vc$var1, "__", vc$var2))
  varcorr[[m$model]] <- data.frame(model = m$model, name = nm, value = vc$sdcor)
  th <- getME(fit, "theta")
  thetas[[m$model]] <- data.frame(model = m$model, index = seq_along(th) - 1, theta = unname(th))
  fits[[m$model]] <- data.frame(model = m$model, dataset = m$data,
                                formula = paste(deparse(m$formula), collapse = ""),
                                family = m$family()$family, nAGQ = m$nAGQ,
                                loglik = as.numeric(logLik(fit)), deviance = deviance(fit),
                                singular = isSingular(fit),
                                messages = paste(msgs, collapse = " | "))
}
wr <- function(x, f) write.csv(do.call(rbind, x), file.path(out, f), row.names = FALSE)
wr(fixed, "fixed.csv"); wr(varcorr, "varcorr.csv"); wr(thetas, "theta.csv"); wr(fits, "fit.csv")
print(do.call(rbind, fits)[, c("model", "loglik", "singular", "messages")])
