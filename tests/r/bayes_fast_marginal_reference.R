# A second reference for the 3-subject sleepstudy data set (sleep_k3) of bayes_fast_reference.R:
# the same posterior (brms's model and default priors) sampled by Stan with the group-level
# effects integrated out (each subject's rows ~ multi_normal(X_j b, Z_j Sigma Z_j' + sigma^2 I)).
# brms samples the effects themselves: with 3 subjects the sds have a funnel at 0, and its long
# run had 117 divergent transitions at adapt_delta 0.995 (tests/data/bayes_fast/summaries.csv);
# the marginal model has no funnel, so its draws are free of that bias and its tails are
# estimated from many more effective draws.  CI never runs this; its output is committed:
#   tests/data/bayes_fast/marginal_summaries.csv   same columns as summaries.csv
#
# Usage (from the repository root):  Rscript tests/r/bayes_fast_marginal_reference.R
# rstan 2.21.7 (R 4.2.2); 4 chains x 50000 draws after 2000 warm-up; a few minutes.

suppressPackageStartupMessages({
  library(rstan)
  library(posterior)
})

out <- "tests/data/bayes_fast"
name <- "sleep_k3"
d <- read.csv(file.path(out, paste0(name, ".csv")))
d <- d[order(d$Subject), ]
pri <- read.csv(file.path(out, "priors.csv"))
pri <- pri[pri$dataset == name & pri$prior != "", ]
stopifnot(pri$prior[pri$class == "Intercept"] == "student_t(3, 300.5, 63.7)",
          pri$prior[pri$class == "sd"] == "student_t(3, 0, 63.7)",
          pri$prior[pri$class == "sigma"] == "student_t(3, 0, 63.7)",
          pri$prior[pri$class == "L"] == "lkj_corr_cholesky(1)")

code <- "
data {
  int<lower=1> N;
  int<lower=1> J;
  vector[N] y;
  vector[N] days;
  int<lower=1> start[J];
  int<lower=1> len[J];
}
transformed data {
  real mean_days = mean(days);
}
parameters {
  real Intercept;                 // brms's intercept of the centred predictor
  real b_Days;
  vector<lower=0>[2] sd_g;
  cholesky_factor_corr[2] L;
  real<lower=0> sigma;
}
model {
  matrix[2, 2] LS = diag_pre_multiply(sd_g, L);
  matrix[2, 2] Sigma = LS * LS';
  for (j in 1:J) {
    int n = len[j];
    matrix[n, 2] Zj = append_col(rep_vector(1, n), segment(days, start[j], n));
    vector[n] mu = Intercept + b_Days * (segment(days, start[j], n) - mean_days);
    matrix[n, n] V = add_diag(quad_form(Sigma, Zj'), square(sigma));
    segment(y, start[j], n) ~ multi_normal(mu, V);
  }
  Intercept ~ student_t(3, 300.5, 63.7);
  sd_g ~ student_t(3, 0, 63.7);
  sigma ~ student_t(3, 0, 63.7);
  L ~ lkj_corr_cholesky(1);
}
generated quantities {
  real b_Intercept = Intercept - b_Days * mean_days;
  real cor = multiply_lower_tri_self_transpose(L)[2, 1];
}
"
groups <- rle(as.character(d$Subject))
data <- list(N = nrow(d), J = length(groups$lengths), y = d$Reaction, days = d$Days,
             len = groups$lengths, start = cumsum(c(1, head(groups$lengths, -1))))
fit <- stan(model_code = code, data = data, chains = 4, cores = 2, iter = 52000, warmup = 2000,
            seed = 20261130, control = list(adapt_delta = 0.95), refresh = 0)
draws <- as_draws_df(fit)
names_map <- c(b_Intercept = "b_Intercept", b_Days = "b_Days",
               "sd_g[1]" = "sd_Subject__Intercept", "sd_g[2]" = "sd_Subject__Days",
               cor = "cor_Subject__Intercept__Days", sigma = "sigma")
rows <- list()
for (v in names(names_map)) {
  x <- extract_variable_matrix(draws, v)
  xv <- as.vector(x)
  rows[[length(rows) + 1]] <- data.frame(
    dataset = name, parameter = names_map[[v]], mean = mean(xv), sd = sd(xv),
    q2.5 = unname(quantile(xv, 0.025)), q97.5 = unname(quantile(xv, 0.975)),
    prob_positive = mean(xv > 0), rhat = rhat(x), ess_bulk = ess_bulk(x),
    ess_tail = ess_tail(x), n_draws = length(xv),
    divergences = sum(get_divergent_iterations(fit)))
}
write.csv(do.call(rbind, rows), file.path(out, "marginal_summaries.csv"), row.names = FALSE)
print(do.call(rbind, rows))
