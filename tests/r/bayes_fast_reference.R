# Reference posteriors for replic's bayes-fast engine: long brms (Stan NUTS) runs with brms's
# default priors on five data sets.  CI never runs this; its outputs are committed under
# tests/data/bayes_fast/:
#   <name>.csv            the data set (simulated ones generated here with fixed seeds)
#   datasets.csv          name, formula, response, group, adapt_delta
#   summaries.csv         dataset, parameter, mean, sd, q2.5, q97.5, prob_positive, rhat,
#                         ess_bulk, ess_tail (every b_ and sd_ parameter, sigma, cor_)
#   priors.csv            the prior brms used for each data set (class, coef, prior)
#
# Usage (from the repository root):  Rscript tests/r/bayes_fast_reference.R
# brms 2.18.0 + rstan; 4 chains x 20000 draws each; about 40 minutes with cores = 2.

suppressPackageStartupMessages({
  library(brms)
  library(posterior)
})

out <- "tests/data/bayes_fast"
dir.create(out, showWarnings = FALSE, recursive = TRUE)

# sleepstudy posterior means (brms, default priors), used to simulate the small replicates
simulate_sleep <- function(k, seed) {
  set.seed(seed)
  Sigma <- matrix(c(25^2, 0.07 * 25 * 6.5, 0.07 * 25 * 6.5, 6.5^2), 2)
  L <- chol(Sigma)
  rows <- lapply(seq_len(k), function(j) {
    u <- drop(rnorm(2) %*% L)
    days <- 0:9
    data.frame(Reaction = round(251.4 + u[1] + (10.5 + u[2]) * days + rnorm(10, 0, 25.9), 4),
               Days = days, Subject = paste0("s", j))
  })
  do.call(rbind, rows)
}

simulate_unbalanced <- function(seed) {
  set.seed(seed)
  J <- 15
  sd <- c(8, 1, 2)
  R <- matrix(c(1, 0.3, -0.2, 0.3, 1, 0.1, -0.2, 0.1, 1), 3)
  L <- chol(diag(sd) %*% R %*% diag(sd))
  rows <- lapply(seq_len(J), function(j) {
    n <- sample(3:12, 1)
    u <- drop(rnorm(3) %*% L)
    x1 <- round(runif(n, 0, 10), 2)
    x2 <- rbinom(n, 1, 0.5)
    data.frame(y = round(50 + u[1] + (2 + u[2]) * x1 + (-3 + u[3]) * x2 + rnorm(n, 0, 5), 4),
               x1 = x1, x2 = x2, g = paste0("g", j))
  })
  do.call(rbind, rows)
}

simulate_near_singular <- function(seed) {
  # true slope sd is 0: the REML fit is singular, the posterior of sd(x) piles up near 0
  set.seed(seed)
  rows <- lapply(1:10, function(j) {
    x <- 0:5
    data.frame(y = round(20 + rnorm(1, 0, 3) + 0.3 * x + rnorm(6, 0, 4), 4), x = x,
               g = paste0("g", j))
  })
  do.call(rbind, rows)
}

sleep <- read.csv("replic/datasets/sleepstudy.csv")
sleep$Subject <- as.character(sleep$Subject)
sets <- list(
  sleepstudy = list(data = sleep, formula = "Reaction ~ 1 + Days + (1 + Days | Subject)",
                    response = "Reaction", group = "Subject", adapt_delta = 0.95),
  sleep_k3 = list(data = simulate_sleep(3, 3003), formula = "Reaction ~ 1 + Days + (1 + Days | Subject)",
                  response = "Reaction", group = "Subject", adapt_delta = 0.995),
  sleep_k5 = list(data = simulate_sleep(5, 5005), formula = "Reaction ~ 1 + Days + (1 + Days | Subject)",
                  response = "Reaction", group = "Subject", adapt_delta = 0.995),
  unbalanced = list(data = simulate_unbalanced(2024), formula = "y ~ 1 + x1 + x2 + (1 + x1 + x2 | g)",
                    response = "y", group = "g", adapt_delta = 0.995),
  near_singular = list(data = simulate_near_singular(77), formula = "y ~ 1 + x + (1 + x | g)",
                       response = "y", group = "g", adapt_delta = 0.99)
)

summaries <- list()
priors <- list()
for (name in names(sets)) {
  s <- sets[[name]]
  write.csv(s$data, file.path(out, paste0(name, ".csv")), row.names = FALSE)
  fit <- brm(as.formula(s$formula), data = s$data, family = gaussian(), chains = 4, cores = 2,
             iter = 21000, warmup = 1000, seed = 20240601,
             control = list(adapt_delta = s$adapt_delta, max_treedepth = 12), refresh = 0)
  draws <- as_draws_df(fit)
  keep <- grep("^(b_|sd_|cor_|sigma$)", variables(draws), value = TRUE)
  for (v in keep) {
    x <- extract_variable_matrix(draws, v)
    xv <- as.vector(x)
    summaries[[length(summaries) + 1]] <- data.frame(
      dataset = name, parameter = v, mean = mean(xv), sd = sd(xv),
      q2.5 = unname(quantile(xv, 0.025)), q97.5 = unname(quantile(xv, 0.975)),
      prob_positive = mean(xv > 0), rhat = rhat(x), ess_bulk = ess_bulk(x),
      ess_tail = ess_tail(x), n_draws = length(xv),
      divergences = sum(nuts_params(fit, pars = "divergent__")$Value))
  }
  pr <- prior_summary(fit)
  priors[[name]] <- data.frame(dataset = name, class = pr$class, coef = pr$coef,
                               group = pr$group, prior = pr$prior)
  cat(name, "done\n")
}
write.csv(do.call(rbind, summaries), file.path(out, "summaries.csv"), row.names = FALSE)
write.csv(do.call(rbind, priors), file.path(out, "priors.csv"), row.names = FALSE)
write.csv(data.frame(name = names(sets),
                     formula = sapply(sets, `[[`, "formula"),
                     response = sapply(sets, `[[`, "response"),
                     group = sapply(sets, `[[`, "group"),
                     adapt_delta = sapply(sets, `[[`, "adapt_delta")),
          file.path(out, "datasets.csv"), row.names = FALSE)
