# Held-out reference posteriors with mass near the boundary of the covariance parameters (issue 13):
# long brms (Stan NUTS) runs with brms's default priors on real data sets replic's bayes-fast was
# never tuned on, plus brms's mixing figures and generated Stan code for Orthodont + Sex.
# CI never runs this; its outputs are committed under tests/data/bayes_fast/:
#   <name>.csv                  the data set (exactly what brms was given, read back from CSV, so
#                               factor levels are alphabetical in R and Python alike)
#   boundary_datasets.csv       name, formula, response, group, adapt_delta, chains, iter, warmup
#   boundary_summaries.csv      dataset, parameter, mean, sd, q2.5, q97.5, prob_positive, rhat,
#                               ess_bulk, ess_tail, n_draws, divergences
#   boundary_priors.csv         the prior brms used for each data set (class, coef, prior)
#   boundary_draws.csv.gz       every 20th draw of the sd_, cor_ and sigma parameters
#   brms_mixing.csv             Orthodont + Sex, default priors and settings (4 x 1000 after 1000
#                               warm-up, adapt_delta 0.8), seeds 0-4: max R-hat, min bulk/tail ESS
#                               over b_, sd_, cor_, sigma (and over all parameters), divergences
#   brms_orthodont_sex.stan     brms's generated Stan code (stancode()) of that model
#   boundary_versions.txt       R, brms, rstan, Stan versions; seeds; timing
#
# Usage (from the repository root):  nice Rscript tests/r/bayes_fast_boundary_reference.R
# brms 2.18.0 + rstan 2.21 (Debian bookworm); 4 chains x 10000 draws (after 1000 warm-up) per
# data set; about 20 minutes with cores = 2.

suppressPackageStartupMessages({
  library(brms)
  library(posterior)
  library(nlme)
  library(lme4)
})

out <- "tests/data/bayes_fast"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
started <- Sys.time()
SEED <- 20261130
ITER <- 11000
WARMUP <- 1000

# Data sets, written to CSV and read back so R and Python fit exactly the same values
orth <- as.data.frame(nlme::Orthodont)
orth <- data.frame(distance = orth$distance, age = orth$age, Subject = as.character(orth$Subject),
                   Sex = as.character(orth$Sex))
sleep <- as.data.frame(lme4::sleepstudy)
sleep$Subject <- as.character(sleep$Subject)
sets <- list(
  # 27 children: sd(age) has most of its mass within 2 posterior sds of 0
  orthodont = list(data = orth[, c("distance", "age", "Subject")],
                   formula = "distance ~ 1 + age + (1 + age | Subject)",
                   response = "distance", group = "Subject", adapt_delta = 0.99),
  # the same with a between-subject covariate (brms centres it for the intercept prior)
  orthodont_sex = list(data = orth, formula = "distance ~ 1 + age + Sex + (1 + age | Subject)",
                       response = "distance", group = "Subject", adapt_delta = 0.99),
  # 11 girls: a very weak random slope (lme4's REML fit is close to singular)
  orthodont_female = list(data = orth[orth$Sex == "Female", c("distance", "age", "Subject")],
                          formula = "distance ~ 1 + age + (1 + age | Subject)",
                          response = "distance", group = "Subject", adapt_delta = 0.995),
  # 5 of sleepstudy's 18 subjects with similar OLS slopes (9.1-11.3): few groups, weak slope sd
  sleep_sub5 = list(data = sleep[sleep$Subject %in% c("332", "333", "369", "371", "372"), ],
                    formula = "Reaction ~ 1 + Days + (1 + Days | Subject)",
                    response = "Reaction", group = "Subject", adapt_delta = 0.995)
)
for (name in names(sets)) {
  path <- file.path(out, paste0(name, ".csv"))
  write.csv(sets[[name]]$data, path, row.names = FALSE)
  d <- read.csv(path)
  d[[sets[[name]]$group]] <- as.character(d[[sets[[name]]$group]])
  sets[[name]]$data <- d
}

keep_pars <- function(draws) grep("^(b_|sd_|cor_|sigma$)", variables(draws), value = TRUE)

# brms's default priors (get_prior) of a data set, passed to Stan as data (stanvars) rather than
# as literals, so that data sets with the same model structure share one compiled program (rstan
# compiles are slow on a shared 2-core machine).  The model is exactly brms's default model.
default_prior <- function(formula, data) {
  gp <- get_prior(as.formula(formula), data = data, family = gaussian())
  num <- function(cls) as.numeric(strsplit(gsub("student_t\\(|\\)", "",
                                                gp$prior[gp$class == cls & gp$prior != ""]),
                                           ",")[[1]])
  list(intercept = num("Intercept"), sd = num("sd"), sigma = num("sigma"), table = gp)
}
generic_prior <- set_prior("student_t(3, p_int_loc, p_int_scale)", class = "Intercept") +
  set_prior("student_t(3, 0, p_sd_scale)", class = "sd") +
  set_prior("student_t(3, 0, p_sigma_scale)", class = "sigma")
prior_vars <- function(p) {
  stanvar(p$intercept[2], "p_int_loc") + stanvar(p$intercept[3], "p_int_scale") +
    stanvar(p$sd[3], "p_sd_scale") + stanvar(p$sigma[3], "p_sigma_scale")
}
# generic column names (y, x, s, g) so that one compiled model serves each structure
generic <- function(s) {
  d <- s$data
  cols <- all.vars(as.formula(s$formula))
  resp <- cols[1]
  preds <- setdiff(cols[-1], s$group)
  out <- data.frame(y = d[[resp]], g = d[[s$group]])
  names_map <- c()
  for (i in seq_along(preds)) {
    nm <- c("x", "s")[i]
    out[[nm]] <- d[[preds[i]]]
    names_map[nm] <- preds[i]
  }
  list(data = out, map = names_map)
}
rename_par <- function(v, map, group) {
  v <- sub("^sd_g__", paste0("sd_", group, "__"),
          sub("^cor_g__", paste0("cor_", group, "__"), v))
  for (nm in names(map)) v <- gsub(paste0("(^b_|__)", nm, "(?=$|__|[A-Z])"),
                                   paste0("\\1", map[[nm]]), v, perl = TRUE)
  v
}
generic_formula <- c(two = "y ~ 1 + x + (1 + x | g)", sex = "y ~ 1 + x + s + (1 + x | g)")

summaries <- list()
priors <- list()
thinned <- list()
compiled <- list()
fits <- list()
for (name in names(sets)) {
  s <- sets[[name]]
  gen <- generic(s)
  kind <- if (length(gen$map) == 2) "sex" else "two"
  p <- default_prior(s$formula, s$data)
  t0 <- Sys.time()
  if (is.null(compiled[[kind]])) {
    fit <- brm(as.formula(generic_formula[[kind]]), data = gen$data, family = gaussian(),
               prior = generic_prior, stanvars = prior_vars(p), chains = 4, cores = 2,
               iter = ITER, warmup = WARMUP, seed = SEED,
               control = list(adapt_delta = s$adapt_delta, max_treedepth = 12), refresh = 0)
    compiled[[kind]] <- fit
  } else {
    fit <- update(compiled[[kind]], newdata = gen$data, stanvars = prior_vars(p),
                  chains = 4, cores = 2, iter = ITER, warmup = WARMUP, seed = SEED,
                  control = list(adapt_delta = s$adapt_delta, max_treedepth = 12),
                  refresh = 0, recompile = FALSE)
  }
  draws <- as_draws_df(fit)
  div <- sum(nuts_params(fit, pars = "divergent__")$Value)
  rows <- list()
  for (v in keep_pars(draws)) {
    x <- extract_variable_matrix(draws, v)
    xv <- as.vector(x)
    rows[[v]] <- data.frame(
      dataset = name, parameter = rename_par(v, gen$map, s$group), mean = mean(xv), sd = sd(xv),
      q2.5 = unname(quantile(xv, 0.025)), q97.5 = unname(quantile(xv, 0.975)),
      prob_positive = mean(xv > 0), rhat = rhat(x), ess_bulk = ess_bulk(x),
      ess_tail = ess_tail(x), n_draws = length(xv), divergences = div)
  }
  summaries[[name]] <- do.call(rbind, rows)
  gp <- p$table
  priors[[name]] <- data.frame(dataset = name, class = gp$class, coef = gp$coef,
                               group = gp$group, prior = gp$prior)
  dd <- as.data.frame(draws)
  sel <- seq(1, nrow(dd), by = 20)
  th <- dd[sel, grep("^(sd_|cor_|sigma$)", names(dd), value = TRUE), drop = FALSE]
  names(th) <- rename_par(names(th), gen$map, s$group)
  thinned[[name]] <- cbind(dataset = name, .chain = dd$.chain[sel], th)
  write.csv(summaries[[name]], file.path(out, paste0("boundary_summaries_", name, ".part")),
            row.names = FALSE)
  cat(name, "done in", format(Sys.time() - t0), "divergences", div, "\n")
  print(summaries[[name]][, c("parameter", "mean", "sd", "q2.5", "q97.5", "rhat")])
  fits[[name]] <- fit
}
write.csv(do.call(rbind, summaries), file.path(out, "boundary_summaries.csv"), row.names = FALSE)
unlink(file.path(out, paste0("boundary_summaries_", names(sets), ".part")))
write.csv(do.call(rbind, priors), file.path(out, "boundary_priors.csv"), row.names = FALSE)
all_cols <- unique(unlist(lapply(thinned, names)))
thinned <- lapply(thinned, function(d) { d[setdiff(all_cols, names(d))] <- NA; d[all_cols] })
con <- gzfile(file.path(out, "boundary_draws.csv.gz"), "w")
write.csv(do.call(rbind, thinned), con, row.names = FALSE)
close(con)
write.csv(data.frame(name = names(sets),
                     formula = sapply(sets, `[[`, "formula"),
                     response = sapply(sets, `[[`, "response"),
                     group = sapply(sets, `[[`, "group"),
                     adapt_delta = sapply(sets, `[[`, "adapt_delta"),
                     chains = 4, iter = ITER, warmup = WARMUP, seed = SEED),
          file.path(out, "boundary_datasets.csv"), row.names = FALSE)

# Mixing of brms itself on Orthodont + Sex with every default (what fit_posterior must match)
sex <- sets[["orthodont_sex"]]
writeLines(c("// brms's Stan code for the Orthodont + Sex model with its default priors passed as",
             "// data (stanvars p_*: the values of get_prior(); see tests/r/bayes_fast_boundary_reference.R)",
             stancode(fits[["orthodont_sex"]])),
           file.path(out, "brms_orthodont_sex.stan"))
mixing <- list()
for (seed in 0:4) {
  t0 <- Sys.time()
  fit <- update(fits[["orthodont_sex"]], chains = 4, cores = 2, iter = 2000, warmup = 1000,
                seed = seed, control = list(adapt_delta = 0.8), refresh = 0, recompile = FALSE)
  draws <- as_draws_df(fit)
  main <- keep_pars(draws)
  everything <- setdiff(variables(draws), c("lp__", "lprior"))
  conv <- function(vars, f) sapply(vars, function(v) f(extract_variable_matrix(draws, v)))
  mixing[[seed + 1]] <- data.frame(
    seed = seed, rhat_max = max(conv(main, rhat)), ess_bulk_min = min(conv(main, ess_bulk)),
    ess_tail_min = min(conv(main, ess_tail)), rhat_max_all = max(conv(everything, rhat)),
    ess_bulk_min_all = min(conv(everything, ess_bulk)),
    divergences = sum(nuts_params(fit, pars = "divergent__")$Value),
    seconds = as.numeric(difftime(Sys.time(), t0, units = "secs")))
  print(mixing[[seed + 1]])
}
write.csv(do.call(rbind, mixing), file.path(out, "brms_mixing.csv"), row.names = FALSE)

writeLines(c(R.version.string,
             paste("brms", packageVersion("brms")),
             paste("rstan", packageVersion("rstan")),
             paste("StanHeaders", packageVersion("StanHeaders")),
             paste("posterior", packageVersion("posterior")),
             paste("nlme", packageVersion("nlme")), paste("lme4", packageVersion("lme4")),
             paste("seed", SEED, "; chains 4 ; iter", ITER, "; warmup", WARMUP,
                   "; max_treedepth 12 ; mixing seeds 0-4 with brms defaults"),
             paste("total minutes", round(as.numeric(difftime(Sys.time(), started,
                                                               units = "mins")), 1))),
           file.path(out, "boundary_versions.txt"))
cat("all done\n")
